/** Flag groups shared by every command; spread them first into a command's args. */
export const commonArgs = {
  config: {
    type: "string",
    description:
      "Config file (default: $SQLBAK_CONFIG, ./sqlbak.toml, ~/.config/sqlbak/config.toml, /etc/sqlbak/config.toml)",
    valueHint: "PATH",
  },
  "env-file": {
    type: "string",
    description:
      "KEY=value file (mode 0600, yours) supplying variables the environment lacks (default: the config's env_file)",
    valueHint: "PATH",
  },
  "backup-dir": { type: "string", description: "Backup folder, overriding the config's backup_dir", valueHint: "DIR" },
  json: { type: "boolean", description: "Machine-readable output on stdout" },
  quiet: { type: "boolean", alias: "q", description: "Only warnings and errors on stderr" },
  verbose: { type: "boolean", description: "Debug detail, and stack traces on errors" },
} as const;

export const dryRunArgs = {
  "dry-run": { type: "boolean", alias: "n", description: "Show what would happen; change nothing" },
} as const;

export const identityArgs = {
  identity: {
    type: "string",
    description: "age identity file that decrypts encrypted backups (default: $SQLBAK_AGE_IDENTITY)",
    valueHint: "FILE",
  },
} as const;
