/**
 * Requests that ask to upgrade the connection (Node's `upgrade` event): pods/exec, pods/attach
 * (exec.ts) and pods/portforward (portforward.ts). The same route parsing, authentication and
 * authorization as every other request; an error before the upgrade is answered as a Kubernetes
 * Status over plain HTTP, so a client that falls back to SPDY still shows the real reason.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../../runtime/logger.ts";
import type { User } from "./auth.ts";
import type { StreamDeps } from "./exec.ts";
import type { WebSocketConn } from "./websocket.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { parseRoute } from "./routes.ts";
import type { TLSSocket } from "node:tls";
import type { RbacView } from "./rbac/authorizer.ts";
import { authenticate, authorize, userFromCertificate } from "./auth.ts";
import { parseQuery, splitTarget } from "./query.ts";
import { statusFromError } from "./status.ts";
import { handleExecUpgrade } from "./exec.ts";
import { handlePortForwardUpgrade } from "./portforward.ts";

export interface UpgradeDeps extends StreamDeps {
  log: Logger;
  users: () => Map<string, User>;
  rbac: RbacView;
  /** ServiceAccount bearer tokens. */
  tokens?: (token: string) => User | undefined;
}

const REASONS: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout" };

function answer(socket: Duplex, e: unknown, ctx: Parameters<typeof statusFromError>[1]): void {
  const { code, body } = statusFromError(e, ctx);
  const text = JSON.stringify(body);
  if (!socket.writable) return;
  socket.end(`HTTP/1.1 ${code} ${REASONS[code] ?? "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

export function createUpgradeHandler(deps: UpgradeDeps): { handle(req: IncomingMessage, socket: Duplex, head: Buffer): void; stop(): void } {
  const live = new Set<WebSocketConn>();
  const sockets = new Set<Duplex>();
  const dispatch = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { path, query } = splitTarget(req.url ?? "/");
    const q = parseQuery(query);
    const route = parseRoute(req.method ?? "GET", path, q);
    if (route.type !== "resource" || route.rt.resource !== "pods" || !route.name || !route.subresource) {
      throw new FlotillaError(ErrorCode.NotFound, "the server could not find the requested resource");
    }
    // Authenticated as every other request is (server.ts): a client certificate, else a bearer token.
    const tls = req.socket as TLSSocket;
    const certUser = !req.headers.authorization && tls.authorized ? userFromCertificate(tls.getPeerCertificate()?.subject) : undefined;
    authorize(deps.rbac, certUser ?? authenticate(deps.users(), req.headers.authorization, deps.tokens), route);
    const conn =
      route.subresource === "exec" || route.subresource === "attach"
        ? await handleExecUpgrade(deps, req, socket, head, route, q)
        : route.subresource === "portforward"
          ? await handlePortForwardUpgrade(deps, req, socket, head, route, q)
          : (() => {
              throw new FlotillaError(ErrorCode.BadRequest, `${route.subresource} cannot be upgraded`);
            })();
    if (!conn) return;
    live.add(conn);
    conn.onClose(() => live.delete(conn));
  };
  return {
    handle(req, socket, head) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
      dispatch(req, socket, head).catch((e: unknown) => {
        if (!(e instanceof FlotillaError)) deps.log.error("upgrade failed", { path: req.url, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        answer(socket, e, {});
      });
    },
    stop() {
      for (const c of live) c.close(1001, "server stopping");
      for (const s of sockets) s.destroy();
    },
  };
}
