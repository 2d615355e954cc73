/** A dead-man's-switch monitor on 127.0.0.1 that records every ping; stopped after each test. */
import { afterEach } from "bun:test";

export interface RecordedPing {
  method: string;
  /** Path without the query, e.g. `/job/start`. */
  path: string;
  query: Record<string, string>;
  body: string;
}

const servers: { stop(force?: boolean): void }[] = [];
afterEach(() => {
  while (servers.length) servers.pop()!.stop(true);
});

/** A monitor answering `status` (200 by default); `url(path)` is a ping URL under it. */
export function pingServer(status = 200): { url: (path: string) => string; pings: RecordedPing[] } {
  const pings: RecordedPing[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      pings.push({
        method: req.method,
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        body: await req.text(),
      });
      return new Response(status === 200 ? "OK" : "no", { status });
    },
  });
  servers.push(server);
  return { url: (path) => `http://127.0.0.1:${server.port}${path}`, pings };
}
