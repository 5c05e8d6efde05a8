/**
 * pods/exec and pods/attach over WebSockets with Kubernetes' channel protocol (`v5.channel.k8s.io`,
 * `v4.channel.k8s.io`): every binary message starts with its channel — 0 stdin, 1 stdout, 2 stderr,
 * 3 the final Status (the exit code), 4 terminal resize (`{"Width":…,"Height":…}`), and in v5 255
 * "close channel" (`[255, 0]` ends stdin). The session itself runs on the pod's kubelet
 * (session-relay.ts). kubectl 1.32 tries this first; its SPDY fallback is answered with the same
 * error, or 400 when only SPDY is the problem.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Pod } from "../../bus/resources.ts";
import type { ResourceRoute } from "./routes.ts";
import type { WebSocketConn } from "./websocket.ts";
import type { Relay } from "./session-relay.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { acceptWebSocket, isWebSocketUpgrade } from "./websocket.ts";
import { openRelay } from "./session-relay.ts";
import { kubeBool } from "./query.ts";

export const CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export interface StreamDeps {
  nc: NatsConnection;
  cluster: string;
  store: StoreClient;
}

export interface ExecRequest {
  node: string;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Pod + query → what to run where (pure). Throws BadRequest as kube-apiserver words it. */
export function execRequest(pod: Pod, q: URLSearchParams, attach: boolean): ExecRequest {
  const name = pod.metadata.name!;
  const node = pod.spec?.nodeName;
  if (!node) throw new FlotillaError(ErrorCode.BadRequest, `pod ${name} does not have a host assigned`);
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  const container = q.get("container") || (names.length === 1 ? names[0]! : "");
  if (!container) throw new FlotillaError(ErrorCode.BadRequest, `a container name must be specified for pod ${name}, choose one of: [${names.join(" ")}]`);
  if (!names.includes(container) && !(pod.spec?.initContainers ?? []).some((c) => c.name === container)) {
    throw new FlotillaError(ErrorCode.BadRequest, `container ${container} is not valid for pod ${name}`);
  }
  const command = q.getAll("command");
  if (!attach && command.length === 0) throw new FlotillaError(ErrorCode.BadRequest, "you must specify at least 1 command");
  const r = { node, container, command, stdin: !!kubeBool(q, "stdin"), stdout: !!kubeBool(q, "stdout"), stderr: !!kubeBool(q, "stderr"), tty: !!kubeBool(q, "tty") };
  if (!r.stdin && !r.stdout && !r.stderr) throw new FlotillaError(ErrorCode.BadRequest, "you must specify at least 1 of stdin, stdout, stderr");
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") {
    throw new FlotillaError(ErrorCode.BadRequest, `cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`);
  }
  return r;
}

/** The Status sent on channel 3 when the session ends. */
export function exitStatus(command: string[], code: number, message?: string): object {
  if (code === 0) return { metadata: {}, status: "Success" };
  if (code < 0) return { metadata: {}, status: "Failure", message: message ?? "session failed", reason: "InternalError" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${code}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(code) }] },
  };
}

const withChannel = (ch: number, data: Buffer) => Buffer.concat([Buffer.from([ch]), data]);

export async function handleExecUpgrade(deps: StreamDeps, req: IncomingMessage, socket: Duplex, head: Buffer, route: ResourceRoute, q: URLSearchParams): Promise<WebSocketConn | undefined> {
  const attach = route.subresource === "attach";
  const pod = await deps.store.get<Pod>("pods", route.namespace, route.name!);
  const x = execRequest(pod, q, attach);
  if (!isWebSocketUpgrade(req)) throw new FlotillaError(ErrorCode.BadRequest, `${route.subresource} needs a WebSocket upgrade (${CHANNEL_PROTOCOLS.join(", ")}); SPDY is not served`);
  let ws: WebSocketConn | undefined;
  const pending: Buffer[] = [];
  const send = (b: Buffer) => (ws ? ws.send(b) : (pending.push(b), true));
  let unacked = 0;
  let exited = false;
  // Output may arrive before openRelay resolves: its credit is given once the relay exists.
  let relay: Relay | undefined;
  const credit = (n: number) => (relay ? relay.credit(n) : (unacked += n));
  const io = { namespace: route.namespace!, pod: route.name!, container: x.container, stdin: x.stdin, stdout: x.stdout, stderr: x.stderr, tty: x.tty };
  relay = await openRelay(
    deps.nc,
    deps.cluster,
    x.node,
    attach ? { type: "attach", ...io } : { type: "exec", ...io, command: x.command },
    {
      onData(stream, data) {
        if (stream === 1 && !x.stdout) return credit(data.length);
        if (stream === 2 && !x.stderr) return credit(data.length);
        if (send(withChannel(stream === 1 ? Channel.stdout : Channel.stderr, data))) credit(data.length);
        else unacked += data.length;
      },
      onExit(code, message) {
        exited = true;
        send(withChannel(Channel.error, Buffer.from(JSON.stringify(exitStatus(x.command, code, message)))));
        ws?.close(1000);
      },
    },
  );
  const r = relay;
  ws = acceptWebSocket(req, socket, head, CHANNEL_PROTOCOLS);
  if (!ws) {
    r.cancel();
    return undefined;
  }
  const conn = ws;
  let flushed = true;
  for (const b of pending.splice(0)) flushed = conn.send(b) && flushed;
  if (flushed && unacked) {
    r.credit(unacked);
    unacked = 0;
  }
  if (exited) conn.close(1000);
  conn.onDrain(() => {
    if (unacked) r.credit(unacked);
    unacked = 0;
  });
  conn.onMessage((m) => {
    if (m.length === 0) return;
    const ch = m[0]!;
    const data = m.subarray(1);
    if (ch === Channel.stdin) {
      if (data.length === 0) return;
      r.stdin(Buffer.from(data));
      if (r.stdinBlocked) {
        conn.pause();
        r.onStdinOpen(() => conn.resume());
      }
    } else if (ch === Channel.resize) {
      try {
        const size = JSON.parse(data.toString("utf8")) as { Width?: number; Height?: number };
        if (Number.isInteger(size.Width) && Number.isInteger(size.Height)) r.resize(size.Width!, size.Height!);
      } catch {
        /* not a resize */
      }
    } else if (ch === Channel.close && data[0] === Channel.stdin) r.closeStdin();
  });
  conn.onClose(() => r.cancel());
  return conn;
}
