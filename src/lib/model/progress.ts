/**
 * How a long operation says how far it got. Lib never prints: the CLI draws
 * these on a terminal only (src/commands/_progress.ts; docs/commands.md#progress).
 */

/** Bytes done of `total`, as one step goes (a decompression, a reassembly, a download). */
export type ByteProgress = (done: number, total: number) => void;

/**
 * Progress of a run's steps in bytes, each step named by its label
 * (`app`, `app: verifying <id>`, `app → nas: copying <id>`): a new label is a new step.
 */
export type ProgressFn = (label: string, done: number, total: number) => void;
