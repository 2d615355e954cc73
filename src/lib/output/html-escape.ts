/**
 * Escaping for the status page: every string that comes from a database name,
 * a path, an error or a manifest goes through `esc` before it reaches the page,
 * in text and in attribute values alike.
 */

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** `s` safe as HTML text and as a quoted attribute value (both quote kinds are escaped). */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
