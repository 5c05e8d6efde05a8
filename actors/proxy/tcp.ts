/**
 * Userspace TCP forwarding: one `net.Server` per listener; each accepted connection is piped to a
 * backend picked by the port's balancer (another backend is tried when one refuses). A backend that
 * dies ends only its own connections.
 */
import type { Server, Socket } from "node:net";
import type { Logger } from "../../runtime/logger.ts";
import type { Balancer } from "./balancer.ts";
import type { ListenerSpec } from "./table.ts";
import { createServer, connect } from "node:net";
import { backendKey } from "./balancer.ts";

export const BindResult = { Ok: "ok", InUse: "inUse", Unavailable: "unavailable" } as const;
export type BindResult = (typeof BindResult)[keyof typeof BindResult];

const CONNECT_TIMEOUT_MS = 3000;
const MAX_TRIES = 3;

export interface ListenerDeps {
  balancer: (portKey: string) => Balancer | undefined;
  now: () => number;
  log: Logger;
}

function endSoon(s: Socket): void {
  if (s.destroyed) return;
  s.end();
  setTimeout(() => s.destroy(), 5000).unref();
}

export class TcpListener {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  portKey: string;

  constructor(
    readonly spec: ListenerSpec,
    private readonly deps: ListenerDeps,
  ) {
    this.portKey = spec.portKey;
  }

  get connections(): number {
    return this.sockets.size;
  }

  listen(): Promise<BindResult> {
    const server = createServer({ pauseOnConnect: true }, (s) => this.accept(s));
    return new Promise((resolve) => {
      server.once("error", (e: NodeJS.ErrnoException) => {
        server.close();
        resolve(e.code === "EADDRINUSE" ? BindResult.InUse : BindResult.Unavailable);
      });
      server.listen({ host: this.spec.ip, port: this.spec.port, exclusive: true }, () => {
        server.removeAllListeners("error");
        server.on("error", (e) => this.deps.log.warn("listener error", { listener: this.spec.id, error: e.message }));
        this.server = server;
        resolve(BindResult.Ok);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    return new Promise((r) => (server ? server.close(() => r()) : r()));
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.on("error", () => client.destroy());
    const clientIp = client.remoteAddress ?? "";
    const tried = new Set<string>();
    const attempt = () => {
      if (client.destroyed) return;
      const lb = this.deps.balancer(this.portKey);
      const b = tried.size === 0 ? lb?.pick(clientIp, this.deps.now()) : lb?.pickExcept(clientIp, this.deps.now(), tried);
      if (!b || tried.size >= MAX_TRIES) {
        client.destroy();
        return;
      }
      tried.add(backendKey(b));
      const upstream = connect({ host: b.ip, port: b.port });
      upstream.setTimeout(CONNECT_TIMEOUT_MS);
      let connected = false;
      upstream.once("timeout", () => !connected && upstream.destroy(new Error("connect timeout")));
      upstream.once("connect", () => {
        connected = true;
        upstream.setTimeout(0);
        this.track(upstream);
        upstream.setNoDelay(true);
        client.setNoDelay(true);
        client.pipe(upstream);
        upstream.pipe(client);
        // A clean close is passed on as a FIN (buffered bytes still flow); an error resets the other side.
        upstream.on("close", (hadError) => (hadError ? client.destroy() : endSoon(client)));
        client.on("close", (hadError) => (hadError ? upstream.destroy() : endSoon(upstream)));
        client.resume();
      });
      upstream.on("error", (e) => {
        if (connected) return client.destroy();
        this.deps.log.debug("backend refused, trying another", { listener: this.spec.id, backend: backendKey(b), error: e.message });
        upstream.destroy();
        attempt();
      });
    };
    attempt();
  }
}
