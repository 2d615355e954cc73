/**
 * PLACEHOLDER, replaced when the SFTP backend (built in parallel against
 * backend.ts) is merged: keep that file on a merge conflict. Until then an
 * sftp destination validates but fails when used, with this message.
 */
import type { Backend } from "./backend.ts";
import type { SftpDestination } from "./config.ts";
import { OperationError } from "../errors.ts";

export function createSftpBackend(dest: SftpDestination): Backend {
  throw new OperationError(`destination ${dest.name}: SFTP support is not in this build of sqlbak`);
}
