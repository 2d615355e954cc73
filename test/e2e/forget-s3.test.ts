/**
 * Tags, pins and forgets of existing backups at an S3 destination (s3rver on
 * 127.0.0.1), through the compiled binary: the next sync copies the marker
 * (`list --from` shows the tags), removes it there once gone here, and removes
 * a forgotten backup there.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { S3Client } from "bun";
import { makeProject, type Project } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { S3_KEY, type S3Server, s3DestinationToml, startS3 } from "../helpers/s3.ts";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
});

const cli = (p: Project, args: string[]) => runCli(args, { cwd: p.dir, env: S3_KEY });
async function remoteKeys(prefix: string): Promise<string[]> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: S3_KEY.AWS_ACCESS_KEY_ID,
    secretAccessKey: S3_KEY.AWS_SECRET_ACCESS_KEY,
    region: "us-east-1",
  });
  const page = await client.list({ prefix: `${prefix}/` });
  return (page.contents ?? []).map((o) => o.key.slice(prefix.length + 1)).sort();
}

for (const incremental of [true, false])
  describe(`s3 destination follows pins, tags and forgets (incremental = ${incremental})`, () => {
    it("copies the marker, shows the tags in list --from, removes it and a forgotten backup there", async () => {
      const prefix = `forget-${incremental}-${Date.now()}`;
      const dest = s3DestinationToml(s3).replace('prefix = "sqlbak/prod"', `prefix = "${prefix}"`);
      const p = makeProject({ incremental, dbToml: dest });
      const sync = async () => {
        const r = await cli(p, ["backup", "app", "--json"]);
        expect(r.code).toBe(0);
        return parseJson(r.stdout).results[0].copies[0];
      };
      const a = (await sync()).uploaded[0] as string;
      const b = (await sync()).uploaded[0] as string;
      expect((await cli(p, ["pin", a])).code).toBe(0);
      expect((await cli(p, ["tag", b, "pre-migrate"])).code).toBe(0);
      const c = await sync();
      expect([...c.marks_synced].sort()).toEqual([a, b].sort());
      const keys = await remoteKeys(prefix);
      expect(keys).toContain(`app/${a}.tags.json`);
      expect(keys).toContain(`app/${b}.tags.json`);
      const listed = parseJson((await cli(p, ["list", "--from", "offsite", "--json"])).stdout).backups;
      const tags = Object.fromEntries(listed.map((x: { id: string; tags: string[] }) => [x.id, x.tags]));
      expect(tags[a]).toEqual(["keep"]);
      expect(tags[b]).toEqual(["pre-migrate"]);

      expect((await cli(p, ["unpin", a])).code).toBe(0);
      expect((await cli(p, ["forget", b])).code).toBe(0);
      const d = await sync();
      expect(d.forgotten).toEqual([b]);
      expect(d.marks_synced).toEqual([a]);
      const after = await remoteKeys(prefix);
      expect(after.filter((k) => k.startsWith(`app/${b}.`))).toEqual([]);
      expect(after).not.toContain(`app/${a}.tags.json`);
      expect(after).toContain(`app/${a}.json`);
      // Nothing left to do: the next sync copies no marker and forgets nothing.
      const e = await sync();
      expect([e.forgotten, e.marks_synced]).toEqual([[], []]);
    });
  });
