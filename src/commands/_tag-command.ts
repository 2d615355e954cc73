import { defineCommand } from "citty";
import { changeBackupTag } from "../lib/store/index.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";

/**
 * pin, unpin, tag and untag: one change of one existing backup's tags (its marker
 * beside the manifest); `tag` null means the command names the tag itself (tag, untag).
 */
export function tagCommand(name: string, description: string, add: boolean, tag: string | null) {
  return defineCommand({
    meta: { name, description },
    args: {
      ...commonArgs,
      id: { type: "positional", required: true, description: "Backup id (see `sqlbak list`)", valueHint: "ID" },
      ...(tag === null
        ? { tag: { type: "positional", required: true, description: "Tag", valueHint: "NAME" } as const }
        : {}),
    },
    async run({ args }) {
      const ctx = openContext(args);
      const t = tag ?? String((args as { tag?: string }).tag);
      const r = await changeBackupTag(ctx.config.backupDir, String(args.id), t, add, {
        lockTimeoutMs: ctx.config.lockTimeoutMs,
        command: name,
        onLockWait: (o) =>
          ctx.logger.info(`waiting for the lock held by ${o ? `${o.command} (pid ${o.pid})` : "another run"}`),
      });
      printData(ctx, { ...r }, () => `${r.id}\t${r.tags.join(",") || "-"}`);
      const what = tag !== null ? (add ? "pinned" : "unpinned") : add ? `tagged ${t}` : `untagged ${t}`;
      const unchanged = tag === null && !add ? `has no tag ${t}` : `already ${what}`;
      if (!ctx.json) ctx.logger.info(`${r.id}: ${r.changed ? what : unchanged}`);
    },
  });
}
