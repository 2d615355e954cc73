/**
 * The rclone backend's folder contract against a real rclone `local` remote
 * (its files are on this machine, so the tests look at them directly): what
 * counts as missing, what the listing leaves out, where uploads go.
 */
import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RcloneDestination } from "../../src/lib/config/index.ts";
import { createRcloneBackend } from "../../src/lib/destinations/rclone.ts";
import { tempDir } from "../helpers/tmp.ts";

// Each operation is an rclone process; on a loaded 2-core machine a test can take seconds.
setDefaultTimeout(60_000);

function setup() {
  const dir = tempDir();
  const conf = join(dir, "rclone.conf");
  writeFileSync(conf, "[t]\ntype = local\n");
  const root = join(dir, "remote");
  const dest: RcloneDestination = {
    name: "far",
    type: "rclone",
    uploadCheck: "checksum",
    remote: `t:${root}/`,
    rclone: "rclone",
    rcloneConfig: conf,
  };
  return { dir, root, backend: createRcloneBackend(dest) };
}

describe("rclone backend (local remote)", () => {
  it("round-trips a file; a missing key is null for stat and readText, an error for get, fine for remove", async () => {
    const { dir, root, backend } = setup();
    expect(backend.describe).toBe(`rclone:t:${root}`);
    expect(await backend.list("")).toEqual([]); // the remote folder does not exist yet
    const src = join(dir, "src");
    const bytes = randomBytes(300_000);
    writeFileSync(src, bytes);
    await backend.put(src, "app/a.bin");
    expect(readdirSync(join(root, "app"))).toEqual(["a.bin"]); // no temporary left beside it
    expect(await backend.stat("app/a.bin")).toEqual({ key: "app/a.bin", size: bytes.length });
    await backend.get("app/a.bin", join(dir, "back"));
    expect(readFileSync(join(dir, "back")).equals(bytes)).toBe(true);

    expect(await backend.stat("app/none.json")).toBeNull();
    expect(await backend.stat("other/none.json")).toBeNull();
    expect(await backend.readText("app/none.json")).toBeNull();
    await expect(backend.get("app/none.json", join(dir, "x"))).rejects.toThrow(
      `rclone destination "far" (rclone:t:${root}): app/none.json does not exist`,
    );
    expect(readdirSync(dir).sort()).toEqual(["back", "rclone.conf", "remote", "src"]); // no download temporary
    await backend.remove("app/none.json");
    await backend.remove("other/none.json");
    await backend.remove("app/a.bin");
    expect(await backend.list("")).toEqual([]);
    await expect(backend.put(src, "../escape")).rejects.toThrow(/unsafe destination key/);
  });

  it(`lists one database's files by key with sizes: never hidden files (upload temporaries), \
symlinks, another database's files, or a file named like the database`, async () => {
    const { dir, root, backend } = setup();
    mkdirSync(join(root, "app"), { recursive: true });
    mkdirSync(join(root, "app2"));
    writeFileSync(join(root, "app", "x.json"), "{}");
    writeFileSync(join(root, "app", ".x.json.0123abcd.tmp"), "partial");
    writeFileSync(join(root, "app2", "y.json"), "[]");
    writeFileSync(join(root, "db"), "a file where a folder would be");
    writeFileSync(join(dir, "outside"), "secret");
    symlinkSync(join(dir, "outside"), join(root, "app", "link.json"));
    expect(await backend.list("app/")).toEqual([{ key: "app/x.json", size: 2 }]);
    expect(await backend.list("db/")).toEqual([]);
    expect((await backend.list("")).map((f) => f.key).sort()).toEqual(["app/x.json", "app2/y.json", "db"]);
    expect(await backend.readText("app/x.json")).toBe("{}");
  });

  it("an unknown remote, or a missing rclone_config, is one line naming the destination", async () => {
    const { dir, backend } = setup();
    writeFileSync(join(dir, "rclone.conf"), "[other]\ntype = local\n");
    await expect(backend.list("app/")).rejects.toThrow(
      /^rclone destination "far" .*: cannot list app\/: .*didn't find section in config file$/,
    );
    const missing = createRcloneBackend({
      name: "far",
      type: "rclone",
      uploadCheck: "size",
      remote: "t:/x",
      rclone: "rclone",
      rcloneConfig: join(dir, "nope.conf"),
    });
    await expect(missing.stat("app/a.json")).rejects.toThrow(
      `rclone_config file ${join(dir, "nope.conf")} does not exist`,
    );
  });
});
