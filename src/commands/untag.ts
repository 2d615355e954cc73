import { tagCommand } from "./_tag-command.ts";

export default tagCommand("untag", "Remove a tag from an existing backup", false, null);
