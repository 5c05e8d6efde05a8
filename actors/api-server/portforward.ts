import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ResourceRoute } from "./routes.ts";
import type { StreamDeps } from "./exec.ts";
import type { WebSocketConn } from "./websocket.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

export async function handlePortForwardUpgrade(_deps: StreamDeps, _req: IncomingMessage, _socket: Duplex, _head: Buffer, _route: ResourceRoute, _q: URLSearchParams): Promise<WebSocketConn | undefined> {
  throw new FlotillaError(ErrorCode.BadRequest, "port-forward is not served yet");
}
