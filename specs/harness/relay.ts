/**
 * A TCP relay between NATS clients and the nats-server that a spec can freeze: while frozen it
 * reads and writes nothing in either direction and closes nothing (new connections are accepted
 * and held), like a network path that stops delivering. Thawed, it delivers what was held.
 *
 * It also taps what clients publish: every PUB/HPUB with the name the connection gave in its
 * CONNECT, so a spec knows who sent each request and when it left for the server.
 *
 * @example
 *   const relay = await startRelay(server.port);
 *   relay.onPublish = (p) => seen.push(p);
 *   await startHost({ natsUrl: relay.url, … });
 *   relay.freeze(); … relay.thaw();
 */
import type { Socket } from "node:net";
import { createServer, connect } from "node:net";
import { performance } from "node:perf_hooks";

export interface Publish {
  /** The connection's name from its CONNECT (`<kind>/<id>` for actors). */
  conn: string;
  subject: string;
  reply?: string;
  payload: Buffer;
  /** performance.now() when the relay passed it on to the server. */
  at: number;
}

export interface Relay {
  url: string;
  readonly frozen: boolean;
  freeze(): void;
  thaw(): void;
  onPublish?: (p: Publish) => void;
  stop(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

const CRLF = Buffer.from("\r\n");

/** Parses the client → server half of the NATS protocol just far enough to see publishes. */
function publishTap(emit: (p: Omit<Publish, "conn" | "at">) => void, named: (name: string) => void) {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      const eol = buf.indexOf(CRLF);
      if (eol < 0) return;
      const line = buf.subarray(0, eol).toString("latin1");
      const [op, ...args] = line.split(" ");
      const verb = op!.toUpperCase();
      if (verb === "PUB" || verb === "HPUB") {
        const total = Number(args[args.length - 1]);
        const headerBytes = verb === "HPUB" ? Number(args[args.length - 2]) : 0;
        const names = args.slice(0, verb === "HPUB" ? -2 : -1);
        if (buf.length < eol + 2 + total + 2) return;
        const body = buf.subarray(eol + 2 + headerBytes, eol + 2 + total);
        emit({ subject: names[0]!, reply: names[1], payload: Buffer.from(body) });
        buf = buf.subarray(eol + 2 + total + 2);
        continue;
      }
      if (verb === "CONNECT") {
        try {
          named(String((JSON.parse(line.slice(8)) as { name?: string }).name ?? ""));
        } catch {
          // not ours to judge
        }
      }
      buf = buf.subarray(eol + 2);
    }
  };
}

export async function startRelay(port: number, host = "127.0.0.1"): Promise<Relay> {
  const pairs = new Set<Pair>();
  let frozen = false;
  let held: (() => void)[] = [];
  const whenThawed = (fn: () => void) => (frozen ? held.push(fn) : fn());

  const server = createServer((client) => {
    const upstream = connect({ host, port });
    const pair = { client, upstream };
    pairs.add(pair);
    let conn = "";
    const tap = publishTap(
      (p) => relay.onPublish?.({ ...p, conn, at: performance.now() }),
      (name) => (conn = name),
    );
    client.on("data", (d: Buffer) => {
      tap(d);
      if (!upstream.write(d)) client.pause();
    });
    upstream.on("data", (d: Buffer) => {
      if (!client.write(d)) upstream.pause();
    });
    upstream.on("drain", () => frozen || client.resume());
    client.on("drain", () => frozen || upstream.resume());
    const close = () =>
      whenThawed(() => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
    if (frozen) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address() as { port: number };

  const relay: Relay = {
    url: `nats://127.0.0.1:${addr.port}`,
    get frozen() {
      return frozen;
    },
    freeze() {
      frozen = true;
      for (const p of pairs) {
        p.client.pause();
        p.upstream.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const p of pairs) {
        p.client.resume();
        p.upstream.resume();
      }
      const fns = held;
      held = [];
      for (const fn of fns) fn();
    },
    async stop() {
      frozen = false;
      held = [];
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return relay;
}
