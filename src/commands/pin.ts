import { KEEP_TAG } from "../lib/retention/index.ts";
import { tagCommand } from "./_tag-command.ts";

export default tagCommand("pin", "Pin a backup: rotation never removes it (the keep tag)", true, KEEP_TAG);
