import { tagCommand } from "./_tag-command.ts";

export default tagCommand("tag", "Add a tag to an existing backup", true, null);
