/**
 * Commands sqlbak suggests in hints start from the user's own command line
 * (argv as given), with only what is missing added, so pasting a suggestion
 * never drops an option such as --to, --config or --from.
 */

/** Quotes one word for a POSIX shell; plain words stay as they are. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * `sqlbak <argv…> <add…>`, every word shell-quoted. `argv` is the command line
 * after `sqlbak` exactly as given (command name first); `add` is appended.
 */
export function suggestCommand(argv: string[], add: string[] = []): string {
  const words = [...argv];
  // Added options must not land after `--`, where they would be read as positionals.
  const end = words.indexOf("--");
  if (end === -1) words.push(...add);
  else words.splice(end, 0, ...add);
  return ["sqlbak", ...words].map(shellQuote).join(" ");
}
