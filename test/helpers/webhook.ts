/** A webhook on 127.0.0.1 that keeps every JSON event it is sent; stopped after each test. */
import { afterEach } from "bun:test";

const servers: { stop(force?: boolean): void }[] = [];
afterEach(() => {
  while (servers.length) servers.pop()!.stop(true);
});

export function webhook<T extends { event: string }>(): { url: string; events: T[] } {
  const events: T[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      events.push((await req.json()) as T);
      return new Response("");
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}/hook`, events };
}
