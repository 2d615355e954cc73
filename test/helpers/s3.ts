/**
 * A real S3-compatible server (s3rver, from npm) on 127.0.0.1, on a free port,
 * storing into a temporary folder; started and stopped by the test that needs it.
 */
// First: it fixes s3rver's truncated listings under Bun before s3rver loads.
import "./s3rver-shims.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

/** s3rver accepts exactly this key pair; anything else is InvalidAccessKeyId / SignatureDoesNotMatch. */
export const S3_KEY = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

/** One request the server received, as it came in. */
export interface S3Request {
  method: string;
  /** The path with the bucket, URL-decoded: `/backups/sqlbak/prod/app/app-….json`. */
  path: string;
  query: URLSearchParams;
}

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** Folder where s3rver keeps the objects. */
  dir: string;
  /** Every request since the start (or the last `requests.length = 0`), in order. */
  requests: S3Request[];
  stop(): Promise<void>;
}

/** ListObjects(V2) requests: a GET of the bucket itself. */
export function listRequests(requests: S3Request[]): S3Request[] {
  return requests.filter((r) => r.method === "GET" && /^\/[^/]+\/?$/.test(r.path));
}

/** GETs of objects whose key ends in `suffix` (`.json`: manifests and markers). */
export function objectGets(requests: S3Request[], suffix = ""): S3Request[] {
  return requests.filter((r) => r.method === "GET" && /^\/[^/]+\/./.test(r.path) && r.path.endsWith(suffix));
}

export async function startS3(bucket = "backups"): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), "sqlbak-s3-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  const requests: S3Request[] = [];
  // A second listener only looks: s3rver's own handler answers every request.
  server.httpServer?.on("request", (req) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ method: req.method ?? "", path: decodeURIComponent(url.pathname), query: url.searchParams });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    dir,
    requests,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The TOML of an s3 destination on this server. */
export function s3DestinationToml(s3: S3Server, name = "offsite", extra = ""): string {
  return (
    `[[destination]]\nname = "${name}"\ntype = "s3"\nendpoint = "${s3.endpoint}"\n` +
    `bucket = "${s3.bucket}"\nprefix = "sqlbak/prod"\nregion = "us-east-1"\n${extra}\n`
  );
}
