/**
 * One listing of a whole S3 destination (`listByDatabase`, what a run over many databases
 * uses) on the real s3rver: over 1,000 keys it pages (a request per 1,000 keys), every key
 * comes back once under its database, and keys outside a `<database>/` folder are left out.
 */
import { afterAll, beforeAll, expect, it } from "bun:test";
import { S3Client } from "bun";
import type { S3Destination } from "../../src/lib/config/index.ts";
import { createS3Backend } from "../../src/lib/destinations/s3.ts";
import { listByDatabase } from "../../src/lib/store/list.ts";
import { listRequests, S3_KEY, type S3Server, startS3 } from "../helpers/s3.ts";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
});

it("lists 1,250 keys of 25 databases in two pages, each key once, by database", async () => {
  const client = new S3Client({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: S3_KEY.AWS_ACCESS_KEY_ID,
    secretAccessKey: S3_KEY.AWS_SECRET_ACCESS_KEY,
    region: "us-east-1",
  });
  const keys = Array.from({ length: 1250 }, (_, i) => `db${i % 25}/f${i}.json`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) await client.write(`whole/${keys[next++]}`, "{}");
    }),
  );
  await client.write("whole/stray-file", "x");
  const dest: S3Destination = {
    name: "offsite",
    type: "s3",
    uploadCheck: "checksum",
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    prefix: "whole",
    region: "us-east-1",
    accessKeyIdEnv: "AWS_ACCESS_KEY_ID",
    secretAccessKeyEnv: "AWS_SECRET_ACCESS_KEY",
    sessionTokenEnv: "AWS_SESSION_TOKEN",
    virtualHostedStyle: false,
  };
  s3.requests.length = 0;
  const byDb = await listByDatabase(createS3Backend(dest, S3_KEY));
  expect(listRequests(s3.requests)).toHaveLength(2);
  expect(byDb.size).toBe(25);
  const listed = [...byDb.values()].flat();
  expect(listed.map((f) => f.key).sort()).toEqual([...keys].sort());
  expect(byDb.get("db3")!.every((f) => f.key.startsWith("db3/") && f.size === 2 && f.etag?.length === 32)).toBe(true);
});
