/**
 * An S3-compatible bucket as a destination, through Bun's built-in S3Client.
 * Keys live under `prefix/`. Uploads stream through a multipart writer (at most
 * PART_BYTES × QUEUE_PARTS in memory whatever the file size); an object only
 * appears when its upload completes, so an interrupted upload leaves nothing
 * under its key. Credentials come from the environment, never the config.
 */
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { S3Client } from "bun";
import type { S3Destination } from "../config/index.ts";
import { describeError, OperationError } from "../model/index.ts";
import { assertKey, type Backend, type RemoteFile } from "../store/index.ts";
import { FILE_MODE } from "../system/index.ts";

/** How much is written between two awaited flush() calls (the backpressure step). */
export const PART_BYTES = 5 * 1024 * 1024;
/**
 * The writer cuts parts of this size itself (observed with s3rver: a 23 MiB
 * file went up as 10 + 10 + 3 MiB, flushes never cut smaller parts), above
 * S3's 5 MiB minimum for every part but the last.
 */
const WRITER_PART_BYTES = 2 * PART_BYTES;
const QUEUE_PARTS = 2;
const RETRIES = 3;

/** The messages an operator needs for the S3 errors that are really configuration problems. */
const ADVICE: Record<string, (d: S3Destination) => string> = {
  InvalidAccessKeyId: (d) => `the access key id was rejected; check $${d.accessKeyIdEnv}`,
  SignatureDoesNotMatch: (d) => `the secret access key was rejected; check $${d.secretAccessKeyEnv}`,
  AccessDenied: (d) =>
    `access denied to bucket ${d.bucket}; check the key's permissions (it needs list, get, put and delete)`,
  NoSuchBucket: (d) => `bucket ${d.bucket} does not exist`,
  ExpiredToken: (d) => `the session token expired; refresh $${d.sessionTokenEnv}`,
};

/** Bun reports network failures as S3Error with a code and the message "an unexpected error has occurred". */
const NETWORK: Record<string, string> = {
  ConnectionRefused: "connection refused",
  DNSResolveFailed: "host name not found",
  ConnectionClosed: "connection closed",
  ConnectionTimeout: "timed out",
  ECONNRESET: "connection reset",
  FailedToOpenSocket: "cannot open a socket",
};

/** Every S3 failure as an OperationError (exit 1) saying what to check, never an "unexpected error". */
function explain(d: S3Destination, err: unknown): OperationError {
  const code = (err as { code?: string }).code ?? "";
  const advice = ADVICE[code]?.(d);
  if (advice) return new OperationError(`${advice} (${code})`, { cause: err });
  const where = d.endpoint ?? `AWS S3${d.region ? ` (${d.region})` : ""}`;
  if (NETWORK[code]) return new OperationError(`cannot connect to ${where}: ${NETWORK[code]}`, { cause: err });
  const msg = describeError(err);
  const text = msg === "an unexpected error has occurred" && code ? code : `${code ? `${code}: ` : ""}${msg}`;
  return new OperationError(`S3 request to ${where} failed: ${text}`, { cause: err });
}

const isMissing = (err: unknown) =>
  ["NoSuchKey", "NotFound"].includes((err as { code?: string }).code ?? "") || /\b404\b/.test(describeError(err));

/** Reads the credentials from the variables the destination names; a named variable that is unset is an error. */
function credentials(d: S3Destination, env: NodeJS.ProcessEnv) {
  const accessKeyId = env[d.accessKeyIdEnv];
  const secretAccessKey = env[d.secretAccessKeyEnv];
  if (!accessKeyId || !secretAccessKey) {
    const missing = [!accessKeyId && `$${d.accessKeyIdEnv}`, !secretAccessKey && `$${d.secretAccessKeyEnv}`]
      .filter(Boolean)
      .join(" and ");
    throw new OperationError(`destination ${d.name}: no S3 credentials: ${missing} not set`, {
      hint:
        "export them, or name other variables with access_key_id_env / secret_access_key_env; " +
        "credentials never go in the config file",
    });
  }
  return { accessKeyId, secretAccessKey, sessionToken: env[d.sessionTokenEnv] || undefined };
}

export function createS3Backend(d: S3Destination, env: NodeJS.ProcessEnv = process.env): Backend {
  const client = new S3Client({
    ...credentials(d, env),
    bucket: d.bucket,
    endpoint: d.endpoint,
    region: d.region,
    virtualHostedStyle: d.virtualHostedStyle,
  });
  const root = d.prefix ? `${d.prefix}/` : "";
  const full = (key: string) => {
    assertKey(key);
    return root + key;
  };
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw explain(d, err);
    }
  };
  return {
    describe: `s3://${d.bucket}${root ? `/${d.prefix}` : ""}`,
    put: (localPath, key) =>
      guard(async () => {
        const writer = client.file(full(key)).writer({
          partSize: WRITER_PART_BYTES,
          queueSize: QUEUE_PARTS,
          retry: RETRIES,
          type: "application/octet-stream",
        });
        try {
          // write() alone buffers the whole file (measured: RSS grew by the file size); awaiting
          // flush() every PART_BYTES holds reading back until the writer has sent what it queued.
          let unflushed = 0;
          for await (const chunk of Bun.file(localPath).stream()) {
            const pending = writer.write(chunk);
            if (pending instanceof Promise) await pending;
            unflushed += chunk.byteLength;
            if (unflushed >= PART_BYTES) {
              await writer.flush();
              unflushed = 0;
            }
          }
        } catch (err) {
          await Promise.resolve(writer.end(err as Error)).catch(() => undefined);
          throw err;
        }
        await writer.end();
      }),
    get: (key, localPath) =>
      guard(async () => {
        const body = client.file(full(key)).stream();
        await pipeline(
          Readable.fromWeb(body as import("node:stream/web").ReadableStream),
          createWriteStream(localPath, { flags: "wx", mode: FILE_MODE }),
        );
      }),
    checkSizes: true,
    readText: (key) =>
      guard(async () => {
        try {
          return await client.file(full(key)).text();
        } catch (err) {
          if (isMissing(err)) return null;
          throw err;
        }
      }),
    stat: (key) =>
      guard(async (): Promise<RemoteFile | null> => {
        try {
          const st = await client.stat(full(key));
          return { key, size: st.size };
        } catch (err) {
          if (isMissing(err)) return null;
          throw err;
        }
      }),
    list: (prefix) =>
      guard(async () => {
        const out: RemoteFile[] = [];
        let continuationToken: string | undefined;
        do {
          const page = await client.list({ prefix: root + prefix, continuationToken, maxKeys: 1000 });
          for (const o of page.contents ?? []) {
            if (!o.key.startsWith(root)) continue;
            const etag = o.eTag?.replace(/"/g, "").toLowerCase();
            out.push({ key: o.key.slice(root.length), size: o.size ?? 0, ...(etag ? { etag } : {}) });
          }
          continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
        } while (continuationToken);
        return out;
      }),
    remove: (key) => guard(() => client.delete(full(key))),
    async close() {},
  };
}
