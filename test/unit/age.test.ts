import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { bech32Decode, bech32Encode } from "../../src/age/bech32.ts";
import {
  AgeFormatError,
  AgeNoIdentityError,
  decodeBase64,
  encodeBase64,
  formatHeader,
  parseHeader,
  type Stanza,
  unwrapHeader,
} from "../../src/age/header.ts";
import {
  AgeKeyError,
  decryptBytes,
  decryptTransform,
  encryptBytes,
  generateIdentity,
  parseIdentity,
  parseIdentityFile,
  parseRecipient,
} from "../../src/age/index.ts";
import { chachaKey, chachaOpen, hkdf } from "../../src/age/primitives.ts";
import { PAYLOAD_NONCE_BYTES, PLAIN_CHUNK_BYTES, SEALED_CHUNK_BYTES } from "../../src/age/stream.ts";

// The X25519 example pair from the age spec (c2sp.org/age).
const SPEC_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
const SPEC_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
const KiB64 = PLAIN_CHUNK_BYTES;

const pair = () => {
  const g = generateIdentity();
  return { recipient: parseRecipient(g.recipient), identities: parseIdentityFile(g.identity) };
};

/** Length of the header: everything up to and including the MAC line. */
function headerLength(file: Uint8Array): number {
  return parseHeader(file).length;
}

describe("bech32", () => {
  it("decodes the spec's keys and re-encodes them identically", () => {
    const r = bech32Decode(SPEC_RECIPIENT);
    expect(r.hrp).toBe("age");
    expect(r.data.length).toBe(32);
    expect(bech32Encode("age", r.data)).toBe(SPEC_RECIPIENT);
    const id = bech32Decode(SPEC_IDENTITY);
    expect(id.hrp).toBe("age-secret-key-");
    expect(id.data).toEqual(new Uint8Array(32).fill(0x42));
    expect(bech32Encode("AGE-SECRET-KEY-", id.data).toUpperCase()).toBe(SPEC_IDENTITY);
  });

  it("round-trips data of any length (age has no length limit)", () => {
    for (const n of [0, 1, 31, 32, 33, 100, 1000]) {
      const data = randomBytes(n);
      expect(bech32Decode(bech32Encode("x", data)).data).toEqual(new Uint8Array(data));
    }
  });

  it.each([
    [`${SPEC_RECIPIENT.slice(0, -1)}k`, "bad checksum"],
    [SPEC_RECIPIENT.slice(0, 20), "bad checksum"],
    ["age1Zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", "mixes upper and lower case"],
    ["agezvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", "no prefix and separator"],
    ["age1qqqq", "too short"],
    ["age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwb", "invalid character"],
  ])("rejects %s (%s)", (text, why) => {
    expect(() => bech32Decode(text)).toThrow(why);
  });
});

describe("age keys", () => {
  it("derives the spec's recipient from the spec's identity", () => {
    expect(parseIdentity(SPEC_IDENTITY).recipient).toBe(SPEC_RECIPIENT);
  });

  it("parses an identity file with comments and blank lines, as age-keygen writes it", () => {
    const g = generateIdentity();
    const text = `# created: 2026-11-22T07:00:00Z\n# public key: ${g.recipient}\n${g.identity}\n\n${SPEC_IDENTITY}\r\n`;
    expect(parseIdentityFile(text).map((i) => i.recipient)).toEqual([g.recipient, SPEC_RECIPIENT]);
  });

  it.each([
    ["", "contains no identity"],
    ["# only a comment\n", "contains no identity"],
    [`${SPEC_IDENTITY}\nnonsense\n`, "line 2: not an age secret key"],
    [`${SPEC_RECIPIENT}\n`, "line 1: not an age secret key (expected AGE-SECRET-KEY-1…)"],
    ["age-encryption.org/v1\n-> scrypt …", "passphrase-protected identity file"],
    ["-----BEGIN OPENSSH PRIVATE KEY-----\n", "SSH or PEM key"],
  ])("refuses identity file %j", (text, message) => {
    expect(() => parseIdentityFile(text)).toThrow(message);
  });

  it.each([
    [SPEC_IDENTITY, "is a secret key"],
    ["ssh-ed25519 AAAAC3Nza…", "is an SSH key"],
    [bech32Encode("age1pq", new Uint8Array(32)), "not an X25519 age recipient"],
    [bech32Encode("age", new Uint8Array(31)), "31 bytes, expected 32"],
  ])("refuses recipient %s", (text, message) => {
    expect(() => parseRecipient(text)).toThrow(AgeKeyError);
    expect(() => parseRecipient(text)).toThrow(message);
  });
});

describe("age header", () => {
  it("uses canonical unpadded base64 only", () => {
    expect(encodeBase64(new Uint8Array([1, 2]))).toBe("AQI");
    expect(decodeBase64("AQI")).toEqual(new Uint8Array([1, 2]));
    expect(decodeBase64("AQI=")).toBeNull(); // padding
    expect(decodeBase64("AQJ")).toBeNull(); // non-zero trailing bits: not canonical
    expect(decodeBase64("A")).toBeNull();
    expect(decodeBase64("AQ-_")).toBeNull(); // url alphabet
  });

  it("wraps stanza bodies at 64 columns and always ends with a short line", () => {
    const key = randomBytes(16);
    const stanzas: Stanza[] = [
      { args: ["test", "a"], body: new Uint8Array(48) }, // exactly 64 base64 columns: needs an empty final line
      { args: ["test", "b"], body: new Uint8Array(50) },
      { args: ["empty"], body: new Uint8Array(0) },
    ];
    const text = Buffer.from(formatHeader(stanzas, key)).toString("latin1");
    const lines = text.split("\n");
    expect(lines[0]).toBe("age-encryption.org/v1");
    expect(lines[1]).toBe("-> test a");
    expect(lines[2]).toHaveLength(64);
    expect(lines[3]).toBe("");
    expect(lines[4]).toBe("-> test b");
    expect(lines[5]).toHaveLength(64);
    expect(lines[6]).toHaveLength(3); // 50 bytes: 67 base64 characters
    expect(lines[7]).toBe("-> empty");
    expect(lines[8]).toBe("");
    expect(lines[9]).toMatch(/^--- [A-Za-z0-9+/]{43}$/);
    const parsed = parseHeader(Buffer.from(`${text}payload`, "latin1"));
    expect(parsed.stanzas).toEqual(stanzas);
    expect(parsed.length).toBe(text.length);
  });

  it.each([
    ["not age at all\n", "not an age-encrypted file"],
    ["age-encryption.org/v2\n", "unsupported age version"],
    ["-----BEGIN AGE ENCRYPTED FILE-----\n", "ASCII-armored"],
    ["age-encryption.org/v1\n-> X25519 abc\n", "truncated"],
    ["age-encryption.org/v1\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "no recipient"],
    ["age-encryption.org/v1\n->  x\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "malformed stanza line"],
    [`age-encryption.org/v1\n-> x\n${"A".repeat(64)}\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n`, "malformed"],
    [
      `age-encryption.org/v1\n-> x\n${"A".repeat(65)}\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n`,
      "malformed stanza body",
    ],
    ["age-encryption.org/v1\n-> x\nAQI=\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "malformed stanza body"],
    ["age-encryption.org/v1\n-> x\n\n---AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "malformed MAC line"],
  ])("rejects header %j", (text, message) => {
    expect(() => parseHeader(Buffer.from(text, "latin1"))).toThrow(AgeFormatError);
    expect(() => parseHeader(Buffer.from(text, "latin1"))).toThrow(message);
  });

  it("checks the header MAC: a changed stanza argument is refused even with the right key", async () => {
    const { recipient, identities } = pair();
    const file = Buffer.from(await encryptBytes(Buffer.from("hello"), { recipients: [recipient] }));
    const hdr = parseHeader(file);
    const tampered = Buffer.concat([
      Buffer.from(
        Buffer.from(file.subarray(0, hdr.length))
          .toString("latin1")
          .replace("-> X25519 ", "-> X25519 ")
          .replace("\n---", "\n-> extra stanza\n\n---"),
        "latin1",
      ),
      file.subarray(hdr.length),
    ]);
    await expect(decryptBytes(tampered, { identities })).rejects.toThrow("header MAC does not match");
  });

  it("says no identity matches when the key is another one, naming the keys it tried", async () => {
    const a = pair();
    const b = pair();
    const file = await encryptBytes(Buffer.from("x"), { recipients: [a.recipient] });
    const err = await decryptBytes(file, { identities: b.identities }).catch((e) => e);
    expect(err).toBeInstanceOf(AgeNoIdentityError);
    expect(err.message).toBe(`no identity matches any recipient of the file (tried ${b.identities[0]!.recipient})`);
  });

  it("opens a file for several recipients with any one of their identities", async () => {
    const a = pair();
    const b = pair();
    const file = await encryptBytes(Buffer.from("shared"), { recipients: [a.recipient, b.recipient] });
    expect(parseHeader(file).stanzas.map((s) => s.args[0])).toEqual(["X25519", "X25519"]);
    for (const who of [a, b])
      expect(Buffer.from(await decryptBytes(file, { identities: who.identities })).toString()).toBe("shared");
  });

  it("encrypts with a passphrase (scrypt) and refuses a wrong one or none", async () => {
    const file = await encryptBytes(Buffer.from("secret"), { passphrase: "correct horse", logN: 10 });
    const [stanza] = parseHeader(file).stanzas;
    expect(stanza!.args[0]).toBe("scrypt");
    expect(stanza!.args[2]).toBe("10");
    expect(Buffer.from(await decryptBytes(file, { identities: [], passphrase: "correct horse" })).toString()).toBe(
      "secret",
    );
    await expect(decryptBytes(file, { identities: [], passphrase: "wrong" })).rejects.toThrow(
      "the passphrase is wrong",
    );
    await expect(decryptBytes(file, { identities: [] })).rejects.toThrow(
      "encrypted with a passphrase, and none was given",
    );
  });

  it("refuses an scrypt stanza mixed with other stanzas, as the spec requires", async () => {
    const key = randomBytes(16);
    const header = parseHeader(
      formatHeader(
        [
          { args: ["scrypt", encodeBase64(randomBytes(16)), "10"], body: new Uint8Array(32) },
          { args: ["X25519", encodeBase64(randomBytes(32))], body: new Uint8Array(32) },
        ],
        key,
      ),
    );
    await expect(unwrapHeader(header, { identities: [], passphrase: "x" })).rejects.toThrow(
      "mixes a passphrase (scrypt) stanza with others",
    );
  });

  it("refuses an scrypt work factor above the limit before spending the memory", async () => {
    const header = parseHeader(
      formatHeader(
        [{ args: ["scrypt", encodeBase64(randomBytes(16)), "30"], body: new Uint8Array(32) }],
        randomBytes(16),
      ),
    );
    await expect(unwrapHeader(header, { identities: [], passphrase: "x" })).rejects.toThrow("above the limit");
  });
});

describe("age STREAM payload", () => {
  const { recipient, identities } = pair();

  it.each([0, 1, KiB64 - 1, KiB64, KiB64 + 1, 2 * KiB64, 2 * KiB64 + 1, 5 * KiB64 + 12345])(
    "round-trips %d bytes with one tag per 64 KiB chunk",
    async (n) => {
      const plain = randomBytes(n);
      const file = await encryptBytes(plain, { recipients: [recipient] });
      const chunks = Math.max(1, Math.ceil(n / KiB64));
      expect(file.length - headerLength(file)).toBe(PAYLOAD_NONCE_BYTES + n + 16 * chunks);
      expect(Buffer.from(await decryptBytes(file, { identities })).equals(plain)).toBe(true);
    },
  );

  it("seals exactly 64 KiB as one full chunk flagged last, and the empty payload as one empty last chunk", async () => {
    // Decrypts the raw chunks by hand, to pin the nonce layout: 11-byte counter || last flag.
    const fileKeyOf = async (file: Uint8Array) => unwrapHeader(parseHeader(file), { identities });
    for (const n of [KiB64, 0]) {
      const file = await encryptBytes(randomBytes(n), { recipients: [recipient] });
      const start = headerLength(file);
      const key = await chachaKey(
        hkdf(await fileKeyOf(file), file.subarray(start, start + PAYLOAD_NONCE_BYTES), "payload"),
      );
      const sealed = file.subarray(start + PAYLOAD_NONCE_BYTES);
      expect(sealed.length).toBe(n + 16);
      const last = new Uint8Array(12);
      last[11] = 1;
      expect((await chachaOpen(key, last, sealed))?.length).toBe(n);
      expect(await chachaOpen(key, new Uint8Array(12), sealed)).toBeNull();
    }
  });

  it("decrypts the same bytes however the input is split (stream transform)", async () => {
    const plain = randomBytes(3 * KiB64 + 7);
    const file = Buffer.from(await encryptBytes(plain, { recipients: [recipient] }));
    const hdr = parseHeader(file);
    const fileKey = await unwrapHeader(hdr, { identities });
    for (const piece of [1000, KiB64, SEALED_CHUNK_BYTES, SEALED_CHUNK_BYTES + 1, file.length]) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < file.length; i += piece) pieces.push(file.subarray(i, i + piece));
      const out: Buffer[] = [];
      for await (const c of Readable.from(pieces).pipe(decryptTransform(fileKey, hdr.length))) out.push(c as Buffer);
      expect(Buffer.concat(out).equals(plain)).toBe(true);
    }
  });

  it("detects a payload cut at a chunk boundary, trailing data, a flipped bit and a missing nonce", async () => {
    const file = Buffer.from(await encryptBytes(randomBytes(2 * KiB64 + 5), { recipients: [recipient] }));
    const start = headerLength(file) + PAYLOAD_NONCE_BYTES;
    const cut = file.subarray(0, start + SEALED_CHUNK_BYTES);
    await expect(decryptBytes(cut, { identities })).rejects.toThrow("truncated (its last chunk is missing)");
    await expect(decryptBytes(Buffer.concat([file, Buffer.from("x")]), { identities })).rejects.toThrow(
      "failed authentication",
    );
    const flipped = Buffer.from(file);
    flipped[start + 100]! ^= 1;
    await expect(decryptBytes(flipped, { identities })).rejects.toThrow("chunk 0 failed authentication");
    await expect(decryptBytes(file.subarray(0, headerLength(file) + 5), { identities })).rejects.toThrow("truncated");
  });

  it("detects trailing bytes after a full last chunk", async () => {
    const file = Buffer.from(await encryptBytes(randomBytes(KiB64), { recipients: [recipient] }));
    await expect(decryptBytes(Buffer.concat([file, randomBytes(20)]), { identities })).rejects.toThrow(
      "trailing data after its last chunk",
    );
  });
});
