/**
 * The ingress actor's data path: an HTTP and an HTTPS listener (Node's http/https/tls modules, no
 * hand-written parsing) that route each request through the current routing snapshot and proxy it
 * to one of the backend's ready endpoints (round-robin, keep-alive). Swapping the snapshot never
 * touches the listeners or connections: requests in flight finish on the backend they started on,
 * and the next request on the same client connection follows the new rules.
 *
 * - no rule matches: 404 `404 page not found`; a Service without ready endpoints: 503; every
 *   endpoint refusing: 502. A request without a body that an endpoint refused is tried on the
 *   next endpoint (an endpoint that went away a moment ago is not a failed request).
 * - `X-Forwarded-For/-Host/-Proto/-Port` are added; hop-by-hop headers are not forwarded.
 * - HTTPS: the certificate is chosen by SNI from the Ingresses' TLS Secrets; without a match,
 *   the default certificate.
 * - WebSocket and other upgrades are relayed once the backend agrees (101).
 */
import type { IncomingMessage, ServerResponse, Server } from "node:http";
import type { SecureContext } from "node:tls";
import type { Socket, AddressInfo } from "node:net";
import type { Logger } from "../../runtime/logger.ts";
import type { Backend } from "./routes.ts";
import { requestHost } from "./routes.ts";
import type { Target } from "./backends.ts";
import { createServer as createHttpServer, request as httpRequest, Agent, STATUS_CODES } from "node:http";
import { createServer as createHttpsServer } from "node:https";

export interface Snapshot {
  /** The backend of a request, or undefined (404). */
  route(host: string, path: string): Backend | undefined;
  /** The ready targets of a backend; a string says why there are none (503). */
  targets(b: Backend): Target[] | string;
  /** The TLS context for an SNI name (undefined: the default certificate). */
  secureContext(servername: string): SecureContext | undefined;
}

export interface ListenOptions {
  address: string;
  httpPort: number;
  httpsPort?: number;
  defaultCert: { certPem: string; keyPem: string };
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

function forwardHeaders(req: IncomingMessage, proto: "http" | "https", localPort: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = new Set(String(req.headers.connection ?? "").toLowerCase().split(",").map((s) => s.trim()).filter(Boolean));
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || listed.has(k)) continue;
    out[k] = v;
  }
  const client = req.socket.remoteAddress ?? "";
  out["x-forwarded-for"] = req.headers["x-forwarded-for"] ? `${String(req.headers["x-forwarded-for"])}, ${client}` : client;
  out["x-forwarded-host"] = req.headers.host ?? "";
  out["x-forwarded-proto"] = proto;
  out["x-forwarded-port"] = String(localPort);
  return out;
}

function plain(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export class IngressServer {
  private readonly servers: Server[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly next = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private snapshot: () => Snapshot,
    private readonly log: Logger,
    private readonly retryMs = 5000,
  ) {}

  async listen(o: ListenOptions): Promise<{ httpPort: number; httpsPort?: number }> {
    const http = createHttpServer((req, res) => this.handle(req, res, "http"));
    http.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head, "http"));
    this.servers.push(http);
    const httpPort = await this.bind(http, o.address, o.httpPort);
    if (o.httpsPort === undefined) return { httpPort };
    const https = createHttpsServer(
      {
        cert: o.defaultCert.certPem,
        key: o.defaultCert.keyPem,
        SNICallback: (name, cb) => {
          try {
            cb(null, this.snapshot().secureContext(name));
          } catch (e) {
            cb(e as Error);
          }
        },
      },
      (req, res) => this.handle(req, res, "https"),
    );
    https.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head, "https"));
    // A client that fails the handshake is its own problem, not the listener's.
    https.on("tlsClientError", (e) => this.log.debug("TLS handshake failed", { error: e.message }));
    this.servers.push(https);
    const httpsPort = await this.bind(https, o.address, o.httpsPort);
    return { httpPort, httpsPort };
  }

  /**
   * Listens; when the port cannot be had (taken, or privileged), says so once and tries again
   * every `retryMs` until it can or the server closes, without holding the actor's start.
   */
  private bind(s: Server, address: string, port: number): Promise<number> {
    s.on("connection", (sock: Socket) => {
      this.sockets.add(sock);
      sock.once("close", () => this.sockets.delete(sock));
    });
    return new Promise((resolve) => {
      let warned = false;
      const attempt = () => {
        if (this.closed) return;
        const onListening = () => {
          s.off("error", onError);
          s.on("error", (e) => this.log.warn("listener error", { error: String(e) }));
          if (warned) this.log.info("listening after all", { address, port });
          resolve((s.address() as AddressInfo).port);
        };
        const onError = (e: NodeJS.ErrnoException) => {
          s.off("listening", onListening);
          if (!warned) this.log.warn("cannot listen: will try again", { address, port, error: e.code ?? String(e), retryMs: this.retryMs });
          warned = true;
          resolve(port);
          this.retry = setTimeout(attempt, this.retryMs);
        };
        s.once("error", onError);
        s.once("listening", onListening);
        s.listen(port, address);
      };
      attempt();
    });
  }

  /** The backend and its targets in round-robin order, or an answer already sent. */
  private pick(req: IncomingMessage, reply: (status: number, body: string) => void): Target[] | undefined {
    const url = req.url ?? "/";
    const path = url.startsWith("/") ? url.split("?")[0]! : new URL(url, "http://x").pathname;
    const host = requestHost(req.headers.host);
    const snap = this.snapshot();
    const b = snap.route(host, path);
    if (!b) return void reply(404, "404 page not found\n");
    const t = snap.targets(b);
    if (typeof t === "string" || t.length === 0) return void reply(503, typeof t === "string" ? `${t}\n` : "no available server\n");
    const key = `${b.namespace}/${b.service}/${b.port.name ?? b.port.number ?? ""}`;
    const start = (this.next.get(key) ?? 0) % t.length;
    this.next.set(key, start + 1);
    return [...t.slice(start), ...t.slice(0, start)];
  }

  private handle(req: IncomingMessage, res: ServerResponse, proto: "http" | "https"): void {
    const order = this.pick(req, (s, b) => plain(res, s, b));
    if (!order) return;
    const headers = forwardHeaders(req, proto, req.socket.localPort ?? 0);
    const bodyless = (req.headers["content-length"] === undefined || req.headers["content-length"] === "0") && req.headers["transfer-encoding"] === undefined;
    const attempt = (i: number): void => {
      const t = order[i]!;
      const up = httpRequest({ host: t.host, port: t.port, method: req.method, path: req.url, headers, agent: this.agent });
      let answered = false;
      up.on("response", (ur) => {
        answered = true;
        const h: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(ur.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) h[k] = v;
        res.writeHead(ur.statusCode ?? 502, ur.statusMessage, h);
        ur.pipe(res);
        ur.on("error", () => res.destroy());
      });
      up.on("error", (e) => {
        if (answered) return void res.destroy();
        // Nothing reached the backend's application yet: another endpoint may answer.
        if (bodyless && i + 1 < order.length && !res.headersSent) return attempt(i + 1);
        this.log.debug("backend failed", { target: `${t.host}:${t.port}`, error: String(e) });
        plain(res, 502, `${STATUS_CODES[502]}\n`);
      });
      res.on("close", () => {
        if (!res.writableFinished) up.destroy();
      });
      if (bodyless) up.end();
      else req.pipe(up);
    };
    attempt(0);
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer, proto: "http" | "https"): void {
    const refuse = (status: number, body: string) => {
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    const order = this.pick(req, refuse);
    if (!order) return;
    const t = order[0]!;
    const headers = { ...forwardHeaders(req, proto, req.socket.localPort ?? 0), connection: "Upgrade", upgrade: String(req.headers.upgrade ?? "") };
    const up = httpRequest({ host: t.host, port: t.port, method: req.method, path: req.url, headers });
    up.on("upgrade", (ur, us, uhead) => {
      const lines = [`HTTP/1.1 ${ur.statusCode ?? 101} ${ur.statusMessage ?? ""}`];
      for (let i = 0; i < ur.rawHeaders.length; i += 2) lines.push(`${ur.rawHeaders[i]}: ${ur.rawHeaders[i + 1]}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (uhead.length) socket.write(uhead);
      if (head.length) us.write(head);
      us.pipe(socket).pipe(us);
      us.on("error", () => socket.destroy());
      socket.on("error", () => us.destroy());
    });
    up.on("response", (ur) => {
      // The backend declined the upgrade: pass its answer on and close.
      const lines = [`HTTP/1.1 ${ur.statusCode ?? 502} ${ur.statusMessage ?? ""}`];
      for (let i = 0; i < ur.rawHeaders.length; i += 2) lines.push(`${ur.rawHeaders[i]}: ${ur.rawHeaders[i + 1]}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      ur.pipe(socket);
    });
    up.on("error", () => refuse(502, "Bad Gateway\n"));
    socket.on("error", () => up.destroy());
    up.end();
  }

  /** Stops listening and closes every client connection (the actor is stopping). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const closed = this.servers.map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r())));
    for (const sock of this.sockets) sock.destroy();
    await Promise.all(closed);
    this.agent.destroy();
  }
}
