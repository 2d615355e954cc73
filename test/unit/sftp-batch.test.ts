import { describe, expect, it } from "bun:test";
import {
  describeFailure,
  isNotFound,
  parseLs,
  parseLsTime,
  quoteArg,
  sftpArgv,
  splitSections,
} from "../../src/lib/destinations/sftp-batch.ts";

const target = { host: "backup.example", port: 2222, user: "bak", keyFile: "/k/id", knownHosts: "/k/known_hosts" };

describe("quoteArg", () => {
  it.each([
    ["/srv/backups/app/x.db", '"/srv/backups/app/x.db"'],
    ["with space/a b", '"with space/a b"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ["glob*?[x]'#", '"glob*?[x]\'#"'],
  ])("quotes %p", (path, quoted) => {
    expect(quoteArg(path)).toBe(quoted);
  });

  it("refuses a path with a newline, which a batch line cannot carry", () => {
    expect(() => quoteArg("a\nrm b")).toThrow('path "a\\nrm b" contains a control character');
  });
});

describe("sftpArgv", () => {
  it("never prompts and pins the host key when a known_hosts file is given", () => {
    const argv = sftpArgv(target).join(" ");
    expect(argv).toStartWith("sftp -b - -P 2222 -i /k/id ");
    expect(argv).toContain("-o BatchMode=yes");
    expect(argv).toContain("-o IdentitiesOnly=yes");
    expect(argv).toContain(
      "-o UserKnownHostsFile=/k/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes",
    );
    expect(argv).toEndWith(" backup.example");
  });

  it("leaves keys and host keys to ssh's own configuration when not given, and brackets IPv6", () => {
    const argv = sftpArgv({ host: "::1", port: 22, user: "bak" });
    expect(argv.join(" ")).not.toMatch(/IdentitiesOnly|StrictHostKeyChecking|KnownHostsFile| -i /);
    expect(argv.at(-1)).toBe("[::1]");
  });
});

describe("parseLs and splitSections", () => {
  it("splits batch output by echoed command and parses names with spaces", () => {
    const stdout = [
      'sftp> -ls -n "/srv/b/app"',
      "-rw-------    ? 0        0         3000000 Nov 22 07:41 /srv/b/app/x 1.db",
      "drwx------    ? 0        0            4096 Nov 22  2025 /srv/b/app/old",
      'sftp> -ls -n "/srv/b/none"',
      'sftp> -ls -n "/srv/b/other"',
      "-rw-r--r--    ? 1000     1000            7 Jan  3 12:00 /srv/b/other/y",
      "",
    ].join("\n");
    const sections = splitSections(stdout);
    expect(sections.length).toBe(3);
    const now = Date.UTC(2026, 11, 6, 22, 0);
    expect(parseLs(sections[0]!, now)).toEqual([
      {
        path: "/srv/b/app/x 1.db",
        isFile: true,
        isDir: false,
        size: 3000000,
        time: { text: "2026-11-22T07:41", startMs: Date.UTC(2026, 10, 22, 7, 41), widthMs: 60_000 },
      },
      {
        path: "/srv/b/app/old",
        isFile: false,
        isDir: true,
        size: 4096,
        time: { text: "2025-11-22", startMs: Date.UTC(2025, 10, 22), widthMs: 86_400_000 },
      },
    ]);
    expect(parseLs(sections[1]!, now)).toEqual([]);
    // January 3 seen in December: next year's, the nearest (sftp shows a time within six months so).
    expect(parseLs(sections[2]!, now)).toEqual([
      {
        path: "/srv/b/other/y",
        isFile: true,
        isDir: false,
        size: 7,
        time: { text: "2027-01-03T12:00", startMs: Date.UTC(2027, 0, 3, 12, 0), widthMs: 60_000 },
      },
    ]);
  });
});

describe("parseLsTime", () => {
  const now = Date.UTC(2026, 5, 15, 12, 0);
  it("reads a minute in the nearest year and a day with its year", () => {
    expect(parseLsTime("Sep", "20", "23:59", now)?.text).toBe("2026-09-20T23:59");
    expect(parseLsTime("Dec", "20", "23:59", now)?.text).toBe("2025-12-20T23:59");
    expect(parseLsTime("Jan", "1", "00:00", now)?.text).toBe("2026-01-01T00:00");
    expect(parseLsTime("Feb", "29", "2024", now)?.text).toBe("2024-02-29");
  });
  it.each([
    ["Déc", "20", "23:59"],
    ["Feb", "30", "10:00"],
    ["Feb", "29", "2025"],
    ["Jun", "x", "10:00"],
    ["Jun", "15", "10h00"],
  ])("gives no time for %p %p %p (another locale, no such day)", (m, d, last) => {
    expect(parseLsTime(m, d, last, now)).toBeUndefined();
  });
});

describe("describeFailure", () => {
  const fail = (stderr: string, code = 255) => describeFailure({ code, stdout: "", stderr }, target);

  it.each([
    [
      "bak@backup.example: Permission denied (publickey).\nConnection closed\n",
      'authentication failed for user "bak" on backup.example port 2222 with key /k/id',
    ],
    [
      "ssh: connect to host backup.example port 2222: Connection refused\nConnection closed\n",
      "connection refused by backup.example port 2222",
    ],
    [
      "No ED25519 host key is known for [backup.example]:2222 and you have requested strict checking.\n" +
        "Host key verification failed.\n",
      "is not known in known_hosts file /k/known_hosts",
    ],
    [
      "@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\n",
      "does not match the one in known_hosts file /k/known_hosts",
    ],
    [
      "ssh: Could not resolve hostname backup.example: Name or service not known\n",
      'cannot resolve host name "backup.example"',
    ],
    [
      "ssh: connect to host backup.example port 2222: Connection timed out\n",
      "no answer from backup.example port 2222",
    ],
  ])("explains %p", (stderr, expected) => {
    expect(fail(stderr)).toContain(expected);
    expect(fail(stderr)).not.toContain("\n");
  });

  it("keeps sftp's own message for a failed command, not the ignored mkdir noise", () => {
    expect(fail('remote mkdir "/srv": Failure\ndest open "/srv/b/x": Permission denied\n', 1)).toBe(
      'dest open "/srv/b/x": Permission denied',
    );
  });

  it("says the connection broke off when sftp died of a signal without a word", () => {
    expect(fail("", 141)).toBe("the connection to backup.example port 2222 broke off (sftp ended by signal 13)");
  });

  it("recognises sftp's not-found messages", () => {
    expect(isNotFound('File "/srv/b/x" not found.')).toBe(true);
    expect(isNotFound("remote delete /srv/b/x: No such file or directory")).toBe(true);
    expect(isNotFound('Can\'t ls: "/srv/b/x" not found')).toBe(true);
    expect(isNotFound('dest open "/srv/b/x": Permission denied')).toBe(false);
  });
});
