/** `install-schedule` through the compiled binary: print, apply/uninstall round trips, config errors. */
import { describe, expect, it } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, type RunOptions, runCli as runBinary } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

/** The system schedule's environment file (root's default /etc/sqlbak/env) moved into the test's folder. */
const systemEnvFile = (dir: string) => join(dir, "system.env");
const runCli = (args: string[], opts: RunOptions & { cwd: string }) =>
  runBinary(args, { ...opts, env: { SQLBAK_SYSTEM_ENV_FILE: systemEnvFile(opts.cwd), ...opts.env } });
/** Where a job started by install-schedule run as `root` (system) or not reads its environment. */
const defaultEnvFile = (dir: string) =>
  process.geteuid?.() === 0 ? systemEnvFile(dir) : join(dir, ".config", "sqlbak", "env");

function setup(schedule = "", sub = "") {
  const dir = join(tempDir(), sub);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n${schedule}\n[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  return dir;
}

/**
 * A stand-in for the crontab CLI with its contract: `-l` prints (exit 1 when
 * none), `-` replaces from stdin; `-n FILE` is the real Debian crontab's syntax check
 * (accepting everything where cron is not installed).
 */
function fakeCrontab(dir: string, initial?: string): { env: Record<string, string>; file: string } {
  const file = join(dir, "crontab.txt");
  if (initial !== undefined) writeFileSync(file, initial);
  const script = join(dir, "fake-crontab");
  writeFileSync(
    script,
    `#!/bin/sh\ncase "$1" in\n  -n) command -v crontab >/dev/null || exit 0; exec crontab -n "$2" ;;\n` +
      `  -l) [ -f '${file}' ] && exec cat '${file}'; echo "no crontab for $(id -un)" >&2; exit 1 ;;\n` +
      `  -) cat > '${file}' ;;\n  *) exit 2 ;;\nesac\n`,
  );
  chmodSync(script, 0o755);
  return { env: { SQLBAK_CRONTAB: script }, file };
}

describe("sqlbak install-schedule", () => {
  for (const tool of ["systemd-analyze", "crontab"]) {
    if (!Bun.which(tool))
      console.warn(`skipped the ${tool} validation test: not installed (./install.sh --test-deps installs it)`);
  }

  it("prints a cron block with absolute paths, and next runs on stderr", async () => {
    const dir = setup();
    const r = await runCli(["install-schedule", "--print", "--platform", "cron"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("# BEGIN sqlbak (managed by sqlbak install-schedule)\n");
    expect(r.stdout).toContain(
      `0 2 * * * ${BIN} backup --rotate --config ${join(dir, "sqlbak.toml")} ` +
        `--env-file ${defaultEnvFile(dir)} --quiet\n`,
    );
    expect(r.stdout).toContain(
      `0 3 * * 0 ${BIN} verify --random --config ${join(dir, "sqlbak.toml")} ` +
        `--env-file ${defaultEnvFile(dir)} --quiet\n`,
    );
    expect(r.stdout).toContain(
      `0 */6 * * * ${BIN} stats --check --config ${join(dir, "sqlbak.toml")} ` +
        `--env-file ${defaultEnvFile(dir)} --quiet\n`,
    );
    expect(r.stderr).toMatch(/backup \(0 2 \* \* \*\) next runs, .+: \d{4}-\d\d-\d\d 02:00:00 [+-]\d\d:\d\d, .+, .+/);
  });

  it("shows the next runs as every displayed time is shown: local time with its UTC offset", async () => {
    // The next-run times had no offset, unlike list, rotate and stats.
    const dir = setup('[schedule]\nverify = "30 3 * * 0"');
    const r = await runCli(["install-schedule", "--print", "--platform", "cron"], {
      cwd: dir,
      env: { TZ: "Asia/Kolkata" },
    });
    expect(r.code).toBe(0);
    const at = (hhmm: string) => `\\d{4}-\\d\\d-\\d\\d ${hhmm}:00 \\+05:30`;
    expect(r.stderr).toMatch(
      new RegExp(
        `backup \\(0 2 \\* \\* \\*\\) next runs, Asia/Kolkata: ${at("02:00")}, ${at("02:00")}, ${at("02:00")}\n`,
      ),
    );
    const weekly = new RegExp(
      `verify \\(30 3 \\* \\* 0\\) next runs, Asia/Kolkata: (${at("03:30")}), ${at("03:30")}, ${at("03:30")}\n`,
    ).exec(r.stderr);
    expect(weekly).not.toBeNull();
    // The time shown is the local one: read back with its offset, it is a Sunday 03:30 in Kolkata (Saturday 22:00 UTC).
    const first = new Date(weekly![1]!.replace(" ", "T").replace(" ", ""));
    expect([first.getUTCDay(), first.getUTCHours(), first.getUTCMinutes()]).toEqual([6, 22, 0]);
  });

  it("--apply twice leaves exactly one block and the foreign lines; --uninstall removes only the block", async () => {
    const dir = setup('[schedule]\nverify = false\nhealth = "*/30 * * * *"');
    const foreign = "MAILTO=ops@example.org\n# nightly report\n15 1 * * * /usr/bin/report --all\n";
    const fake = fakeCrontab(dir, foreign);
    const first = await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(first.code).toBe(0);
    const once = readFileSync(fake.file, "utf8");
    expect(once.startsWith(foreign)).toBe(true);
    expect(once).toContain("*/30 * * * * ");
    expect(once).not.toContain(" verify ");

    const second = await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("already up to date");
    expect(readFileSync(fake.file, "utf8")).toBe(once);
    expect(once.split("# BEGIN sqlbak").length).toBe(2);

    const gone = await runCli(["install-schedule", "--uninstall", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(gone.code).toBe(0);
    expect(readFileSync(fake.file, "utf8")).toBe(foreign);
  });

  it("--apply works on a user with no crontab yet", async () => {
    const dir = setup();
    const fake = fakeCrontab(dir);
    const r = await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(r.code).toBe(0);
    expect(readFileSync(fake.file, "utf8")).toMatch(/^# BEGIN sqlbak .*\n(.*\n)*# END sqlbak\n$/);
  });

  it("systemd --apply writes the unit pairs, is idempotent, drops disabled jobs and uninstalls", async () => {
    const dir = setup();
    const units = join(dir, "units");
    const env = { SQLBAK_SYSTEMD_DIR: units, SQLBAK_SYSTEMCTL: "" };
    const r = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(readdirSync(units).sort()).toEqual(
      ["backup", "health", "verify"]
        .flatMap((j) => [`sqlbak-${j}.service`, `sqlbak-${j}.timer`, `sqlbak-${j}-failure.service`])
        .sort(),
    );
    expect(readFileSync(join(units, "sqlbak-health.timer"), "utf8")).toContain(
      "OnCalendar=*-*-* 00,06,12,18:00:00\nPersistent=true\n",
    );
    expect(readFileSync(join(units, "sqlbak-backup.service"), "utf8")).toContain(
      `ExecStart=${BIN} backup --rotate --config ${join(dir, "sqlbak.toml")} ` +
        `--env-file ${join(dir, ".config", "sqlbak", "env")}\n`,
    );

    const again = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(again.stderr).toContain("already up to date");

    writeFileSync(
      join(dir, "sqlbak.toml"),
      `${readFileSync(join(dir, "sqlbak.toml"), "utf8")}\n[schedule]\nverify = ""\n`,
    );
    await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(existsSync(join(units, "sqlbak-verify.timer"))).toBe(false);
    expect(existsSync(join(units, "sqlbak-verify-failure.service"))).toBe(false);
    expect(existsSync(join(units, "sqlbak-backup.timer"))).toBe(true);

    writeFileSync(join(units, "other.timer"), "[Timer]\n");
    const un = await runCli(["install-schedule", "--uninstall", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(un.code).toBe(0);
    expect(readdirSync(units)).toEqual(["other.timer"]);
  });

  it("adds the weekly status report job only when [schedule] report is set; systemd-analyze and crontab -n accept it", async () => {
    const dir = setup('[schedule]\nreport = "0 4 * * 1"');
    const conf = join(dir, "sqlbak.toml");
    const units = join(dir, "units");
    const env = { SQLBAK_SYSTEMD_DIR: units, SQLBAK_SYSTEMCTL: "" };
    // --apply runs the platform's own validator (systemd-analyze verify) where it is installed.
    const r = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect([r.code, r.stderr]).toEqual([0, expect.not.stringContaining("rejected")]);
    expect(readdirSync(units).sort()).toEqual(
      ["backup", "health", "report", "verify"]
        .flatMap((j) => [`sqlbak-${j}.service`, `sqlbak-${j}.timer`, `sqlbak-${j}-failure.service`])
        .sort(),
    );
    expect(readFileSync(join(units, "sqlbak-report.timer"), "utf8")).toContain("OnCalendar=Mon *-*-* 04:00:00\n");
    expect(readFileSync(join(units, "sqlbak-report.service"), "utf8")).toContain(
      `ExecStart=${BIN} report --send --config ${conf} --env-file ${join(dir, ".config", "sqlbak", "env")}\n`,
    );
    const fake = fakeCrontab(dir);
    const c = await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(c.code).toBe(0);
    expect(readFileSync(fake.file, "utf8")).toContain(
      `0 4 * * 1 ${BIN} report --send --config ${conf} --env-file ${defaultEnvFile(dir)} --quiet\n`,
    );
  });

  /** A scheduler command that only records that it ran: nothing may be enabled when validation fails. */
  function recorder(dir: string): { cmd: string; log: string } {
    const log = join(dir, "scheduler-calls.txt");
    const cmd = join(dir, "fake-scheduler");
    writeFileSync(cmd, `#!/bin/sh\necho "$@" >> '${log}'\n`);
    chmodSync(cmd, 0o755);
    return { cmd, log };
  }

  const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n))]));

  it.skipIf(!Bun.which("systemd-analyze"))(
    "systemd --apply refuses units systemd-analyze rejects and leaves the old ones in place",
    async () => {
      const good = setup();
      const units = join(good, "units");
      const ctl = recorder(good);
      const env = { SQLBAK_SYSTEMD_DIR: units, SQLBAK_SYSTEMCTL: ctl.cmd };
      expect(
        (await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: good, env })).code,
      ).toBe(0);
      const before = snapshot(units);
      writeFileSync(ctl.log, "");
      // A line break in the config's folder name splits ExecStart=: systemd rejects the unit.
      const bad = setup('[schedule]\nbackup = "30 1 * * *"', "conf\nsplit");
      const r = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: bad, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("systemd-analyze verify rejected the generated units");
      expect(r.stderr).toContain("sqlbak-backup.service");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(snapshot(units)).toEqual(before);
      expect(readFileSync(ctl.log, "utf8")).toBe("");
    },
  );

  it.skipIf(!Bun.which("crontab"))(
    "cron --apply refuses a block crontab -n rejects and leaves the crontab byte-identical",
    async () => {
      const good = setup();
      const fake = fakeCrontab(good, "MAILTO=ops@example.org\n15 1 * * * /usr/bin/report\n");
      expect(
        (await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: good, env: fake.env })).code,
      ).toBe(0);
      const before = readFileSync(fake.file);
      expect(before.toString()).toContain("# BEGIN sqlbak");
      // Debian's cron takes commands of at most 1000 characters; this config path is longer.
      const bad = setup(
        '[schedule]\nbackup = "30 1 * * *"',
        Array.from({ length: 5 }, (_, i) => `${i}`.repeat(220)).join("/"),
      );
      const r = await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: bad, env: fake.env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("crontab -n rejected the new crontab");
      expect(r.stderr).toContain("command too long");
      expect(readFileSync(fake.file)).toEqual(before);
    },
  );

  it("launchd --apply refuses a plist that does not parse back and leaves the old plists in place", async () => {
    const good = setup();
    const agents = join(good, "agents");
    const ctl = recorder(good);
    const env = { SQLBAK_LAUNCHD_DIR: agents, SQLBAK_LAUNCHCTL: ctl.cmd };
    expect(
      (await runCli(["install-schedule", "--apply", "--platform", "launchd", "--user"], { cwd: good, env })).code,
    ).toBe(0);
    expect(readdirSync(agents).sort()).toEqual([
      "io.sqlbak.backup.plist",
      "io.sqlbak.health.plist",
      "io.sqlbak.verify.plist",
    ]);
    const before = snapshot(agents);
    writeFileSync(ctl.log, "");
    // A control character is not allowed anywhere in XML 1.0, escaped or not.
    const bad = setup('[schedule]\nbackup = "30 1 * * *"', "conf\u0001x");
    const r = await runCli(["install-schedule", "--apply", "--platform", "launchd", "--user"], { cwd: bad, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("io.sqlbak.backup.plist does not parse back as a property list");
    expect(snapshot(agents)).toEqual(before);
    expect(readFileSync(ctl.log, "utf8")).toBe("");
  });

  it(`windows --apply refuses task XML Task Scheduler would not take, \
writes nothing and prints no schtasks command`, async () => {
    const good = setup();
    const tasks = join(good, "tasks");
    const env = { SQLBAK_TASKS_DIR: tasks };
    const first = await runCli(["install-schedule", "--apply", "--platform", "windows", "--user"], { cwd: good, env });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `schtasks /Create /XML ${join(tasks, "sqlbak-backup.xml")} /TN \\sqlbak\\backup /F\n`,
    );
    expect(readdirSync(tasks).sort()).toEqual(["sqlbak-backup.xml", "sqlbak-health.xml", "sqlbak-verify.xml"]);
    const before = snapshot(tasks);
    // A control character is not allowed anywhere in XML 1.0, escaped or not.
    const bad = setup('[schedule]\nbackup = "30 1 * * *"', "conf\u0001x");
    const r = await runCli(["install-schedule", "--apply", "--platform", "windows", "--user"], { cwd: bad, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "sqlbak-backup.xml is not a task Task Scheduler would take: " +
        "not well-formed XML: character U+0001 is not allowed in XML (line 13)",
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
    expect(snapshot(tasks)).toEqual(before);
  });

  it("--apply refused by validation creates no environment file either", async () => {
    // The hint says nothing was written: the env file --apply would create must not appear.
    const bad = setup('env_file = "jobs.env"\n[schedule]\nbackup = "30 1 * * *"', "conf\u0001x");
    const env = { SQLBAK_LAUNCHD_DIR: join(bad, "agents"), SQLBAK_LAUNCHCTL: recorder(bad).cmd };
    const r = await runCli(["install-schedule", "--apply", "--platform", "launchd", "--user"], { cwd: bad, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("nothing was written");
    expect(existsSync(join(bad, "jobs.env"))).toBe(false);
    const good = setup('env_file = "jobs.env"');
    const envGood = { SQLBAK_LAUNCHD_DIR: join(good, "agents"), SQLBAK_LAUNCHCTL: recorder(good).cmd };
    const ok = await runCli(["install-schedule", "--apply", "--platform", "launchd", "--user"], {
      cwd: good,
      env: envGood,
    });
    expect(ok.code).toBe(0);
    expect(existsSync(join(good, "jobs.env"))).toBe(true);
  });

  it("rejects an invalid cron expression in the config with exit 2, naming the key", async () => {
    const dir = setup('[schedule]\nbackup = "0 25 * * *"');
    const r = await runCli(["install-schedule", "--platform", "cron"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'schedule.backup: "0 25 * * *" is not a valid cron expression: hour: 25 is out of range 0-23',
    );
    expect(r.stdout).toBe("");
  });

  it("refuses what a platform cannot express, with exit 2 and advice", async () => {
    const dir = setup('[schedule]\nhealth = "*/7 * * * *"');
    const r = await runCli(["install-schedule", "--platform", "windows"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('windows: "*/7 * * * *" runs at 216 unevenly spaced times a day');
    expect(r.stderr).toContain("use evenly spaced times");
  });

  it("rejects conflicting flags", async () => {
    const dir = setup();
    expect((await runCli(["install-schedule", "--apply", "--uninstall"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["install-schedule", "--platform", "cron", "--system"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["install-schedule", "--platform", "bsd"], { cwd: dir })).code).toBe(2);
  });
});

describe("install-schedule and the environment file", () => {
  const secretsToml =
    '[encryption]\npassphrase_env = "APP_PASS"\n\n[notify]\n' +
    'ntfy = "http://127.0.0.1:9/t"\nntfy_token_env = "NTFY_TOKEN"\n\n' +
    '[[destination]]\nname = "off"\ntype = "s3"\nendpoint = "http://127.0.0.1:9"\n' +
    'bucket = "b"\nsecret_access_key_env = "S3_SECRET"\n';
  const unset = {
    APP_PASS: undefined,
    NTFY_TOKEN: undefined,
    AWS_ACCESS_KEY_ID: undefined,
    S3_SECRET: undefined,
    AWS_SESSION_TOKEN: undefined,
  };

  it(`--apply creates it 0600 with a commented placeholder per needed variable, wires it into every entry, \
and warns per missing one`, async () => {
    const dir = setup(secretsToml);
    const fake = fakeCrontab(dir);
    const env = defaultEnvFile(dir);
    const r = await runCli(["install-schedule", "--apply", "--platform", "cron"], {
      cwd: dir,
      env: { ...fake.env, ...unset, NTFY_TOKEN: "from-env" },
    });
    expect(r.code).toBe(0);
    expect(statSync(env).mode & 0o777).toBe(0o600);
    const text = readFileSync(env, "utf8");
    for (const line of [
      "# encryption.passphrase_env\n#APP_PASS=\n",
      "# notify.ntfy_token_env\n#NTFY_TOKEN=\n",
      "# destination[0].access_key_id_env\n#AWS_ACCESS_KEY_ID=\n",
      "#S3_SECRET=\n",
      "#AWS_SESSION_TOKEN=\n",
    ]) {
      expect(text).toContain(line);
    }
    const jobs = readFileSync(fake.file, "utf8")
      .split("\n")
      .filter((l) => l.includes(BIN));
    expect(jobs.length).toBe(3);
    for (const l of jobs) expect(l).toContain(` --env-file ${env} `);
    for (const name of ["APP_PASS", "AWS_ACCESS_KEY_ID", "S3_SECRET"]) expect(r.stderr).toContain(`${name} (`);
    expect(r.stderr).toContain(`APP_PASS (encryption.passphrase_env) is set neither in the environment nor in ${env}`);
    expect(r.stderr).not.toContain("NTFY_TOKEN (");
    expect(r.stderr).not.toContain("AWS_SESSION_TOKEN (");
  });

  it("never overwrites an existing file, and a variable the file sets is not reported missing", async () => {
    const dir = setup(secretsToml);
    const fake = fakeCrontab(dir);
    const env = defaultEnvFile(dir);
    const mine = "APP_PASS=hunter2-long-passphrase\nAWS_ACCESS_KEY_ID=AKIA\nS3_SECRET='s e c'\n";
    writeFileSync(env, mine, { mode: 0o600 });
    const r = await runCli(["install-schedule", "--apply", "--platform", "cron"], {
      cwd: dir,
      env: { ...fake.env, ...unset },
    });
    expect(r.code).toBe(0);
    expect(readFileSync(env, "utf8")).toBe(mine);
    expect(r.stderr).toContain(`NTFY_TOKEN (notify.ntfy_token_env) is set neither in the environment nor in ${env}`);
    for (const name of ["APP_PASS", "AWS_ACCESS_KEY_ID", "S3_SECRET"]) expect(r.stderr).not.toContain(`${name} (`);
    expect(r.stderr).not.toContain("hunter2");
  });

  it("uses --env-file, else the config's env_file, in the entries and creates that file", async () => {
    const dir = setup(`env_file = "conf/sqlbak.env"\n${secretsToml}`);
    const units = join(dir, "units");
    const base = { SQLBAK_SYSTEMD_DIR: units, SQLBAK_SYSTEMCTL: "", ...unset };
    const fromKey = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], {
      cwd: dir,
      env: base,
    });
    expect(fromKey.code).toBe(0);
    expect(readFileSync(join(units, "sqlbak-verify.service"), "utf8")).toContain(
      ` --env-file ${join(dir, "conf", "sqlbak.env")}\n`,
    );
    expect(statSync(join(dir, "conf", "sqlbak.env")).mode & 0o777).toBe(0o600);

    const fromFlag = await runCli(
      ["install-schedule", "--apply", "--platform", "systemd", "--user", "--env-file", "other.env"],
      { cwd: dir, env: base },
    );
    expect(fromFlag.code).toBe(0);
    expect(readFileSync(join(units, "sqlbak-backup.service"), "utf8")).toContain(
      ` --env-file ${join(dir, "other.env")}\n`,
    );
    expect(readFileSync(join(dir, "other.env"), "utf8")).toContain("#APP_PASS=\n");
  });

  it("launchd plists and Windows tasks pass the file too (no secret in them)", async () => {
    const dir = setup(secretsToml);
    const env = join(dir, ".config", "sqlbak", "env");
    const plist = await runCli(["install-schedule", "--print", "--platform", "launchd", "--user"], {
      cwd: dir,
      env: unset,
    });
    expect(plist.code).toBe(0);
    expect(plist.stdout.split(`<string>--env-file</string>\n\t\t<string>${env}</string>`).length).toBe(4);
    const tasks = await runCli(["install-schedule", "--print", "--platform", "windows", "--user"], {
      cwd: dir,
      env: unset,
    });
    expect(tasks.code).toBe(0);
    expect(tasks.stdout.split(` --env-file ${env}</Arguments>`).length).toBe(4);
  });

  it("--print names the file without creating it", async () => {
    const dir = setup(secretsToml);
    const r = await runCli(["install-schedule", "--print", "--platform", "cron"], { cwd: dir, env: unset });
    expect(r.code).toBe(0);
    expect(existsSync(defaultEnvFile(dir))).toBe(false);
    expect(r.stderr).toContain(`the jobs read ${defaultEnvFile(dir)}; --apply creates it`);
  });
});

describe("install-schedule systemd sandbox", () => {
  it("ReadWritePaths covers the dir destinations as well as the backup, database and log folders", async () => {
    const dir = setup('[[destination]]\nname = "mirror"\ntype = "dir"\npath = "mirror"\n');
    const r = await runCli(["install-schedule", "--print", "--platform", "systemd", "--system"], {
      cwd: dir,
      env: { SQLBAK_SYSTEMD_DIR: join(dir, "units") },
    });
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("ReadWritePaths="));
    // Each job's service and its OnFailure= unit.
    expect(lines.length).toBe(6);
    for (const l of lines) expect(l).toBe(`ReadWritePaths=-${join(dir, "backups")} -${dir} -${join(dir, "mirror")}`);
  });
});
