/**
 * The meta block of encrypted manifests: written, what is left out of the
 * plaintext; read, both the sealed copy (id key) and the age copy (identity);
 * parsed, old plaintext manifests and new ones alike, and planted mixes refused.
 */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { generateIdentity, parseIdentity } from "../../src/age/index.ts";
import { type DecryptionKeys, NO_KEYS, sealerFor, WrongKeyError } from "../../src/lib/codec/index.ts";
import {
  isMetaSealed,
  type Manifest,
  metaFieldsOf,
  parseManifest,
  parseMetaFields,
  serializeManifest,
  withMetaFields,
} from "../../src/lib/model/index.ts";
import { openManifestMeta, openSealedMeta, withMetaBlock } from "../../src/lib/pages/index.ts";
import { fileStored, manifestFixture } from "../helpers/manifest-fixture.ts";

const ID = "app-20261122T050607123Z-0123abcd";
const RAW_SHA = "b".repeat(64);
const SCHEMA_SHA = "c".repeat(64);

function encryptedManifest(recipient: string): Manifest {
  return manifestFixture(ID, {
    source: "/srv/secret-place/app.db",
    host: "web-secret-host",
    snapshot: {
      method: "pages",
      sqlite_version: "3.51.0",
      page_size: 4096,
      page_count: 3,
      journal_mode: "wal",
      user_version: 7,
      schema_sha256: SCHEMA_SHA,
      tables: { secret_ledger: 1987 },
    },
    raw: { size: 3 * 4096, sha256: RAW_SHA },
    stored: fileStored(ID, 4, { type: "age", recipients: [recipient] }),
    check: { level: "quick", ok: true, result: "ok" },
  });
}

function setup() {
  const id = generateIdentity();
  const sealer = sealerFor({ type: "recipients", recipients: [id.recipient] })!;
  const keys: DecryptionKeys = { ...NO_KEYS, identities: [parseIdentity(id.identity)] };
  return { id, sealer, keys, m: encryptedManifest(id.recipient), idKey: new Uint8Array(randomBytes(32)) };
}

const SECRETS = ["secret_ledger", "1987", RAW_SHA, SCHEMA_SHA, "secret-place", "web-secret-host", "3.51.0"];

describe("manifest meta block", () => {
  it("leaves every field it holds out of the written manifest, which parses and opens back to the original", async () => {
    const s = setup();
    const text = serializeManifest(await withMetaBlock(s.m, s.sealer, s.idKey));
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    const parsed = parseManifest(text, `${ID}.json`, "app");
    expect(isMetaSealed(parsed)).toBe(true);
    expect(parsed.raw).toEqual({ size: 3 * 4096 });
    expect(parsed.snapshot.tables).toBeUndefined();
    const { meta: _fromSealed, ...bySealed } = openSealedMeta(parsed, s.idKey);
    expect(bySealed).toEqual(s.m);
    const { meta: _fromAge, ...byAge } = await openManifestMeta(parsed, s.keys, null);
    expect(byAge).toEqual(s.m);
    // Opened and written back (verify appending a record), the fields stay out.
    const again = serializeManifest(openSealedMeta(parsed, s.idKey));
    expect(again).toBe(text);
  });

  it("a sealed block under another id key, or without a sealed copy, leaves the facts unknown", async () => {
    const s = setup();
    const parsed = parseManifest(serializeManifest(await withMetaBlock(s.m, s.sealer, s.idKey)), `${ID}.json`, "app");
    expect(isMetaSealed(openSealedMeta(parsed, new Uint8Array(randomBytes(32))))).toBe(true);
    const fullBackup = parseManifest(serializeManifest(await withMetaBlock(s.m, s.sealer, null)), `${ID}.json`, "app");
    expect(fullBackup.meta!.sealed).toBeUndefined();
    expect(isMetaSealed(openSealedMeta(fullBackup, s.idKey))).toBe(true);
  });

  it("a wrong identity is a WrongKeyError naming the backup, a damaged sealed copy falls back to the age copy", async () => {
    const s = setup();
    const parsed = parseManifest(serializeManifest(await withMetaBlock(s.m, s.sealer, s.idKey)), `${ID}.json`, "app");
    const other = { ...NO_KEYS, identities: [parseIdentity(generateIdentity().identity)] };
    const err = await openManifestMeta(parsed, other, null).catch((e: Error) => e);
    expect(err).toBeInstanceOf(WrongKeyError);
    expect((err as Error).message).toStartWith(
      `no identity matches backup ${ID}: it is encrypted to ${s.id.recipient}`,
    );
    const sealed = Buffer.from(parsed.meta!.sealed!, "base64");
    sealed[sealed.length - 1]! ^= 1;
    const damaged = { ...parsed, meta: { ...parsed.meta!, sealed: sealed.toString("base64") } };
    expect((await openManifestMeta(damaged, s.keys, s.idKey)).raw.sha256).toBe(RAW_SHA);
  });

  it("old manifests with every field in plaintext still parse, unchanged", () => {
    const m = manifestFixture(ID, {
      stored: fileStored(ID, 4, { type: "age", recipients: [generateIdentity().recipient] }),
    });
    expect(parseManifest(serializeManifest(m), `${ID}.json`, "app")).toEqual(m);
  });

  it("refuses a meta block on an unencrypted backup, beside its fields in plaintext, or not base64", async () => {
    const s = setup();
    const written = JSON.parse(serializeManifest(await withMetaBlock(s.m, s.sealer, s.idKey)));
    const cases: [string, (m: Record<string, any>) => void, RegExp][] = [
      ["unencrypted", (m) => (m.stored = fileStored(ID)), /meta block but its backup is not encrypted/],
      ["raw sha256 in plaintext", (m) => (m.raw.sha256 = RAW_SHA), /meta block and the fields it holds in plaintext/],
      ["tables in plaintext", (m) => (m.snapshot.tables = {}), /meta block and the fields it holds in plaintext/],
      ["not base64", (m) => (m.meta.age = "not base64!"), /invalid meta block/],
      ["no age copy", (m) => delete m.meta.age, /invalid meta block/],
    ];
    for (const [, edit, error] of cases) {
      const m = structuredClone(written);
      edit(m);
      expect(() => parseManifest(JSON.stringify(m), `${ID}.json`, "app")).toThrow(error);
    }
  });

  it("refuses a decrypted block that is not a meta block", () => {
    const good = metaFieldsOf(setup().m);
    expect(parseMetaFields(JSON.stringify(good))).toEqual(good);
    expect(withMetaFields(setup().m, good).raw.sha256).toBe(RAW_SHA);
    for (const bad of [
      "not json",
      JSON.stringify({ ...good, raw: { sha256: "short" } }),
      JSON.stringify({ ...good, snapshot: { ...good.snapshot, tables: { t: -1 } } }),
      JSON.stringify({ ...good, source: 5 }),
    ])
      expect(() => parseMetaFields(bad)).toThrow(/meta block/);
  });
});
