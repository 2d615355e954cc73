/**
 * The status page's one piece of script, inline and optional: a page that is
 * older than it should be says so when it is opened, since a page nobody
 * refreshes any more would otherwise look healthy forever. Without script the
 * page shows the same facts, only without that warning. No data goes into the
 * script: it reads the time and the threshold from escaped attributes.
 */
import { esc } from "./html-escape.ts";

const STALE_SCRIPT = `(function () {
  var e = document.getElementById("stale");
  var age = Date.now() - Date.parse(e.getAttribute("data-generated"));
  var limit = Number(e.getAttribute("data-stale-after-ms"));
  if (!(age > limit)) return;
  var h = Math.floor(age / 3600000);
  var span = h >= 48 ? Math.floor(h / 24) + "d" : h >= 1 ? h + "h" : Math.floor(age / 60000) + "m";
  e.textContent = "This page was written " + span + " ago, longer ago than max_age " +
    e.getAttribute("data-limit-text") + ": whatever refreshes it (the health job) may have stopped, " +
    "so what it shows may be out of date.";
  e.hidden = false;
})();`;

/** The hidden banner and the inline script that shows it once the page is older than `staleAfterMs`. */
export function staleBanner(generatedAt: string, staleAfterMs: number, limitText: string): string {
  return (
    `<p id="stale" class="card stale" hidden data-generated="${esc(generatedAt)}" ` +
    `data-stale-after-ms="${esc(staleAfterMs)}" data-limit-text="${esc(limitText)}"></p>` +
    `<script>${STALE_SCRIPT}</script>`
  );
}
