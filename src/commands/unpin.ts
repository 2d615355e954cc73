import { KEEP_TAG } from "../lib/retention/index.ts";
import { tagCommand } from "./_tag-command.ts";

export default tagCommand("unpin", "Unpin a backup: rotation decides it by the policy again", false, KEEP_TAG);
