/** How to start this sqlbak again: the compiled binary itself, or Bun plus the entry script in a checkout. */
export function sqlbakArgv(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.includes("~BUN");
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}
