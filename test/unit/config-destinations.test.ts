import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { hostKey } from "../../src/lib/config/destinations.ts";
import { configProject as load, configProblems as problemsOf } from "../helpers/config.ts";

describe("[[destination]] resolution", () => {
  it(`resolves local paths against the config file's folder and fills defaults; \
the sftp remote path stays as written`, () => {
    const { dir, config } = load(
      [
        `[[destination]]\nname = "nas"\ntype = "dir"\npath = "mnt/nas"`,
        `[[destination]]\nname = "s3"\ntype = "s3"\nbucket = "b"\n` +
          `prefix = "/a/b/"\nendpoint = "http://127.0.0.1:9000/"`,
        `[[destination]]\nname = "far"\ntype = "sftp"\nhost = "h"\nuser = "u"\n` +
          `key_file = "keys/id"\npath = "srv/backups"\nupload_check = "size"`,
      ].join("\n"),
    );
    expect(config().destinations).toEqual([
      { name: "nas", type: "dir", uploadCheck: "checksum", path: join(dir, "mnt/nas") },
      {
        name: "s3",
        type: "s3",
        uploadCheck: "checksum",
        endpoint: "http://127.0.0.1:9000",
        bucket: "b",
        prefix: "a/b",
        region: undefined,
        accessKeyIdEnv: "AWS_ACCESS_KEY_ID",
        secretAccessKeyEnv: "AWS_SECRET_ACCESS_KEY",
        sessionTokenEnv: "AWS_SESSION_TOKEN",
        virtualHostedStyle: false,
      },
      {
        name: "far",
        type: "sftp",
        uploadCheck: "size",
        host: "h",
        port: 22,
        user: "u",
        keyFile: join(dir, "keys/id"),
        path: "srv/backups",
        knownHosts: undefined,
      },
    ]);
  });

  it("puts this machine's short host name, as a key, where an S3 prefix says {hostname}", () => {
    const { config } = load(`[[destination]]\nname = "s3"\ntype = "s3"\nbucket = "b"\nprefix = "fleet/{hostname}/db"`);
    const d = config().destinations[0]!;
    expect(d.type === "s3" && d.prefix).toBe(`fleet/${hostKey()}/db`);
    expect(hostKey()).toMatch(/^[a-z0-9-]+$/);
    expect(hostKey("Web_01.Example.COM")).toBe("web-01");
    expect(hostKey("")).toBe("host");
  });

  it("no [[destination]]: an empty list", () => {
    expect(load("").config().destinations).toEqual([]);
  });

  it.each([
    ["not a table array", `destination = "x"`, /^destination: expected \[\[destination\]\] entries/],
    ["missing name and type", `[[destination]]\npath = "x"`, /destination\[0\]\.name: is required/],
    [
      "a prefix that climbs",
      `[[destination]]\nname = "s"\ntype = "s3"\nbucket = "b"\nprefix = "a/../b"`,
      /destination\[0\]\.prefix: "a\/\.\.\/b" is not a safe key prefix/,
    ],
    [
      "a prefix with an unknown placeholder",
      `[[destination]]\nname = "s"\ntype = "s3"\nbucket = "b"\nprefix = "a/{host}"`,
      /destination\[0\]\.prefix: "a\/\{host\}" has a placeholder other than \{hostname\}/,
    ],
    [
      "an endpoint with a path",
      `[[destination]]\nname = "s"\ntype = "s3"\nbucket = "b"\nendpoint = "https://h/bucket"`,
      /the bucket goes in bucket/,
    ],
    [
      "a password",
      `[[destination]]\nname = "s"\ntype = "sftp"\nhost = "h"\nuser = "u"\nkey_file = "k"\npath = "/p"\npassword = "x"`,
      /destination\[0\]\.password: credentials are never written in the config/,
    ],
    [
      "s3 without bucket",
      `[[destination]]\nname = "s"\ntype = "s3"`,
      /destination\[0\]\.bucket: is required for type "s3"/,
    ],
  ])("%s", (_what, toml, re) => {
    const problems = problemsOf(toml);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => re.test(p.replace(/^.*sqlbak\.toml: /, "")))).toBe(true);
  });
});
