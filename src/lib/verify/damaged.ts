/** The errors that say a backup is damaged: restore refuses it, verify records a failure. */
import { EXIT, SqlbakError } from "../model/index.ts";

/** A backup failed verification: restore refuses it; exit code 3. */
export class BackupDamagedError extends SqlbakError {
  readonly problems: string[];
  constructor(message: string, problems: string[], hint?: string) {
    super(message, { exitCode: EXIT.unhealthy, hint });
    this.problems = problems;
  }
}

/** A pages backup cannot be reassembled; `pack` names the pack at fault when one is (damaged, short or missing). */
export class ReassemblyError extends BackupDamagedError {
  constructor(
    message: string,
    problems: string[],
    readonly pack: string | null,
  ) {
    super(message, problems);
  }
}
