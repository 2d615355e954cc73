/** Reads the status page's DOM (as Chromium dumped it) into plain data, through Bun's HTMLRewriter. */

export interface PageRow {
  id: string;
  state: string;
  /** The row's cells' text, in column order. */
  cells: string[];
}

export interface PageDatabase {
  name: string;
  unhealthy: boolean;
  badges: string[];
  problems: string[];
  /** `dd[data-fact]` text by fact name ("last restore test", ...). */
  facts: Record<string, string>;
  rows: PageRow[];
  plots: number;
  empty: boolean;
}

export interface PageDom {
  title: string;
  healthy: boolean | null;
  /** The verdict's list: every problem of the page. */
  problems: string[];
  databases: PageDatabase[];
  destinations: { database: string; destination: string; cells: string[] }[];
  scripts: number;
  externalRefs: string[];
  /** The stale-page warning, when the page's script showed it (null: hidden). */
  stale: string | null;
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/** HTMLRewriter hands over text and attribute values as written: decode the character references. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, ref: string) => {
    if (ref[0] === "#")
      return String.fromCodePoint(ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : Number(ref.slice(1)));
    return NAMED[ref] ?? m;
  });
}

/** Reads the page into plain data; every string in it is decoded, as a browser would show it. */
export function readStatusPage(dom: string): PageDom {
  const attr = (el: HTMLRewriterTypes.Element, name: string) => decodeEntities(el.getAttribute(name) ?? "");
  const page: PageDom = {
    title: "",
    healthy: null,
    problems: [],
    databases: [],
    destinations: [],
    scripts: 0,
    externalRefs: [],
    stale: null,
  };
  let db: PageDatabase | null = null;
  let inVerdict = false;
  let text: ((s: string) => void) | null = null;
  const collect = (sink: (s: string) => void) => ({
    element(el: HTMLRewriterTypes.Element) {
      let buf = "";
      text = (s) => {
        buf += s;
      };
      el.onEndTag(() => {
        sink(decodeEntities(buf).trim());
        text = null;
      });
    },
  });
  const onText = {
    text(t: HTMLRewriterTypes.Text) {
      text?.(t.text);
    },
  };
  let row: PageRow | null = null;
  let dest: PageDom["destinations"][number] | null = null;
  new HTMLRewriter()
    .on("script", { element: () => void page.scripts++ })
    .on("#stale", {
      element(el) {
        if (!el.hasAttribute("hidden")) collect((s) => (page.stale = s)).element(el);
      },
    })
    .on("[src], link[href]", {
      element(el) {
        page.externalRefs.push(attr(el, el.hasAttribute("src") ? "src" : "href"));
      },
    })
    .on("section#verdict", {
      element(el) {
        page.healthy = el.getAttribute("data-healthy") === "true";
        inVerdict = true;
        el.onEndTag(() => {
          inVerdict = false;
        });
      },
    })
    .on("section.database", {
      element(el) {
        const d: PageDatabase = {
          name: attr(el, "data-database"),
          unhealthy: (el.getAttribute("class") ?? "").includes("unhealthy"),
          badges: [],
          problems: [],
          facts: {},
          rows: [],
          plots: 0,
          empty: false,
        };
        db = d;
        page.databases.push(d);
        el.onEndTag(() => {
          db = null;
        });
      },
    })
    .on(
      "li.problem",
      collect((s) => (inVerdict ? page.problems : db?.problems)?.push(s)),
    )
    .on(
      "section.database .badge",
      collect((s) => db?.badges.push(s)),
    )
    .on("section.database svg.plot", { element: () => void (db && db.plots++) })
    .on("section.database .empty", { element: () => void (db && (db.empty = true)) })
    .on("dd[data-fact]", {
      element(el) {
        const k = el.getAttribute("data-fact")!;
        collect((s) => db && (db.facts[k] = s.replace(/\s+/g, " "))).element(el);
      },
    })
    .on("tr.backup", {
      element(el) {
        row = { id: attr(el, "data-backup-id"), state: attr(el, "data-state"), cells: [] };
        db?.rows.push(row);
      },
    })
    .on(
      "tr.backup td",
      collect((s) => row?.cells.push(s)),
    )
    .on("tr.destination", {
      element(el) {
        dest = {
          database: attr(el, "data-database"),
          destination: attr(el, "data-destination"),
          cells: [],
        };
        page.destinations.push(dest);
      },
    })
    .on(
      "tr.destination td",
      collect((s) => dest?.cells.push(s)),
    )
    .onDocument(onText)
    .transform(dom);
  // The document's own <title> (an SVG point's <title> is a tooltip, not the page's).
  page.title = decodeEntities(/<head>[\s\S]*?<title>([^<]*)<\/title>/.exec(dom)?.[1] ?? "");
  return page;
}
