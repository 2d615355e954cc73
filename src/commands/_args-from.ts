/** `--from NAME`: read a destination instead of backup_dir (list, verify, restore). */
export const fromArgs = {
  from: {
    type: "string",
    description: "Read the backups at this [[destination]] instead of backup_dir",
    valueHint: "NAME",
  },
} as const;
