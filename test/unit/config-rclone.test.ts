import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { configProject as load, configProblems as problemsOf } from "../helpers/config.ts";

describe("[[destination]] type rclone", () => {
  it(`keeps the remote as written; a bare rclone name is looked up on PATH, \
a path and rclone_config resolve against the config file's folder`, () => {
    const { dir, config } = load(
      [
        `[[destination]]\nname = "gdrive"\ntype = "rclone"\nremote = "gdrive:backups/sqlbak"`,
        `[[destination]]\nname = "b2"\ntype = "rclone"\nremote = "b2:"\nrclone = "bin/rclone"\n` +
          `rclone_config = "rclone.conf"\nupload_check = "size"`,
      ].join("\n"),
    );
    expect(config().destinations).toEqual([
      { name: "gdrive", type: "rclone", uploadCheck: "checksum", remote: "gdrive:backups/sqlbak", rclone: "rclone" },
      {
        name: "b2",
        type: "rclone",
        uploadCheck: "size",
        remote: "b2:",
        rclone: join(dir, "bin/rclone"),
        rcloneConfig: join(dir, "rclone.conf"),
      },
    ]);
  });

  it.each([
    ["no remote", `remote = ""`, /destination\[0\]\.remote: must not be empty/],
    ["a missing remote", ``, /destination\[0\]\.remote: is required for type "rclone"/],
    ["a local path", `remote = "/srv/backups"`, /"\/srv\/backups" is not "name:path" of a remote in rclone\.conf/],
    ["an on-the-fly remote", `remote = ":webdav,url=x:"`, /connection strings are refused/],
    ["options in the name", `remote = "dav,pass=x:"`, /connection strings are refused/],
    ["a password", `remote = "dav:"\npassword = "x"`, /destination\[0\]\.password: credentials are never written/],
  ])("%s is refused", (_what, keys, want) => {
    expect(problemsOf(`[[destination]]\nname = "r"\ntype = "rclone"\n${keys}`).join("\n")).toMatch(want);
  });
});
