/**
 * Userspace UDP forwarding: per client address a session socket towards one backend (picked by the
 * balancer); replies go back to the client; idle sessions expire.
 */
import type { Socket as UdpSocket, RemoteInfo } from "node:dgram";
import type { ListenerSpec } from "./table.ts";
import type { ListenerDeps } from "./tcp.ts";
import { createSocket } from "node:dgram";
import { BindResult } from "./tcp.ts";

const SESSION_IDLE_MS = 30_000;

interface Session {
  socket: UdpSocket;
  lastUsed: number;
}

export class UdpListener {
  private socket?: UdpSocket;
  private readonly sessions = new Map<string, Session>();
  private sweeper?: NodeJS.Timeout;
  portKey: string;

  constructor(
    readonly spec: ListenerSpec,
    private readonly deps: ListenerDeps,
  ) {
    this.portKey = spec.portKey;
  }

  listen(): Promise<BindResult> {
    const sock = createSocket({ type: "udp4", reuseAddr: false });
    return new Promise((resolve) => {
      sock.once("error", (e: NodeJS.ErrnoException) => {
        sock.close();
        resolve(e.code === "EADDRINUSE" ? BindResult.InUse : BindResult.Unavailable);
      });
      sock.bind({ address: this.spec.ip, port: this.spec.port, exclusive: true }, () => {
        sock.removeAllListeners("error");
        sock.on("error", (e) => this.deps.log.warn("udp listener error", { listener: this.spec.id, error: e.message }));
        sock.on("message", (msg, rinfo) => this.forward(msg, rinfo));
        this.socket = sock;
        this.sweeper = setInterval(() => this.sweep(), 5000);
        this.sweeper.unref();
        resolve(BindResult.Ok);
      });
    });
  }

  private forward(msg: Buffer, from: RemoteInfo): void {
    const id = `${from.address}:${from.port}`;
    let s = this.sessions.get(id);
    if (!s) {
      const b = this.deps.balancer(this.portKey)?.pick(from.address, this.deps.now());
      if (!b) return;
      const up = createSocket("udp4");
      up.on("error", () => this.drop(id));
      up.on("message", (reply) => this.socket?.send(reply, from.port, from.address));
      up.connect(b.port, b.ip);
      s = { socket: up, lastUsed: this.deps.now() };
      this.sessions.set(id, s);
      const session = s;
      up.once("connect", () => session.socket.send(msg));
      return;
    }
    s.lastUsed = this.deps.now();
    try {
      s.socket.send(msg);
    } catch {
      // not connected yet: the datagram is dropped, as UDP may
    }
  }

  private drop(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    try {
      s.socket.close();
    } catch {
      // already closed
    }
  }

  private sweep(): void {
    const now = this.deps.now();
    for (const [id, s] of this.sessions) if (now - s.lastUsed > SESSION_IDLE_MS) this.drop(id);
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const id of [...this.sessions.keys()]) this.drop(id);
    const sock = this.socket;
    this.socket = undefined;
    return new Promise((r) => (sock ? sock.close(() => r()) : r()));
  }
}
