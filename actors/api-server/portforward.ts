/**
 * pods/portforward as kubectl 1.31+ speaks it: a WebSocket (subprotocol
 * `SPDY/3.1+portforward.k8s.io`) whose binary messages carry a SPDY/3.1 session (spdy.ts). For
 * each forwarded connection kubectl opens two streams with the same `requestID` header: `error`
 * (text the server writes when the connection fails) and `data` (the bytes). Each data stream
 * becomes one session to the pod's kubelet (session-relay.ts), which connects to the port in the
 * pod; a FIN from kubectl half-closes the pod connection, and the pod's close ends the stream.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Pod } from "../../bus/resources.ts";
import type { ResourceRoute } from "./routes.ts";
import type { StreamDeps } from "./exec.ts";
import type { WebSocketConn } from "./websocket.ts";
import type { Relay } from "./session-relay.ts";
import type { Frame } from "./spdy.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { acceptWebSocket, isWebSocketUpgrade } from "./websocket.ts";
import { openRelay } from "./session-relay.ts";
import { FrameType, FLAG_FIN, HeaderZlib, controlFrame, dataFrame, decodeHeaderBlock, encodeHeaderBlock, parseFrames, rstStream } from "./spdy.ts";

export const PORTFORWARD_PROTOCOLS = ["SPDY/3.1+portforward.k8s.io"];
const MAX_DATA = 32 * 1024;

interface Stream {
  id: number;
  type: string;
  requestID: string;
  port: number;
  relay?: Relay;
  finSent: boolean;
  /** Input that arrived while the relay was opening. */
  queued: Buffer[];
  clientFin: boolean;
  /** Output passed to the WebSocket but not yet acknowledged to the kubelet (buffer full). */
  unacked: number;
}

export async function handlePortForwardUpgrade(deps: StreamDeps, req: IncomingMessage, socket: Duplex, head: Buffer, route: ResourceRoute, _q: URLSearchParams): Promise<WebSocketConn | undefined> {
  const pod = await deps.store.get<Pod>("pods", route.namespace, route.name!);
  const node = pod.spec?.nodeName;
  if (!node) throw new FlotillaError(ErrorCode.BadRequest, `pod ${route.name} does not have a host assigned`);
  if (pod.status?.phase !== "Running") throw new FlotillaError(ErrorCode.BadRequest, `unable to forward port because pod is not running. Current status=${pod.status?.phase ?? "Pending"}`);
  if (!isWebSocketUpgrade(req)) throw new FlotillaError(ErrorCode.BadRequest, `portforward needs a WebSocket upgrade (${PORTFORWARD_PROTOCOLS.join(", ")}); SPDY is not served directly`);
  const ws = acceptWebSocket(req, socket, head, PORTFORWARD_PROTOCOLS);
  if (!ws) return undefined;
  const inflate = new HeaderZlib("inflate");
  const deflate = new HeaderZlib("deflate");
  const streams = new Map<number, Stream>();
  const errorStreams = new Map<string, number>();
  let buf: Buffer = Buffer.alloc(0);
  let chain: Promise<void> = Promise.resolve();

  const send = (b: Buffer) => ws.send(b);
  const sendData = (id: number, data: Buffer, fin = false) => {
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_DATA) ok = send(dataFrame(id, 0, data.subarray(off, off + MAX_DATA))) && ok;
    if (fin) send(dataFrame(id, FLAG_FIN, Buffer.alloc(0)));
    return ok;
  };
  /** A data stream closed both ways is forgotten, with its error stream. */
  const forgetIfDone = (s: Stream) => {
    if (!s.finSent || !s.clientFin || s.type !== "data") return;
    streams.delete(s.id);
    const e = errorStreams.get(s.requestID);
    if (e !== undefined) streams.delete(e);
    errorStreams.delete(s.requestID);
  };
  const finish = (s: Stream) => {
    if (s.finSent) return;
    s.finSent = true;
    send(dataFrame(s.id, FLAG_FIN, Buffer.alloc(0)));
    forgetIfDone(s);
  };
  const fail = (s: Stream, message: string) => {
    const errId = errorStreams.get(s.requestID);
    if (errId !== undefined) {
      sendData(errId, Buffer.from(message), true);
      const e = streams.get(errId);
      if (e) e.finSent = true;
    }
    finish(s);
  };

  const openData = async (s: Stream) => {
    try {
      s.relay = await openRelay(deps.nc, deps.cluster, node, { type: "portforward", namespace: route.namespace!, pod: route.name!, port: s.port }, {
        onData: (_stream, data) => {
          if (sendData(s.id, data) && s.relay) s.relay.credit(data.length);
          else s.unacked += data.length;
        },
        onExit: (code, message) => (code < 0 ? fail(s, message ?? "port-forward failed") : finish(s)),
      });
    } catch (e) {
      return fail(s, `error forwarding port ${s.port} to pod ${route.name}: ${(e as Error).message}`);
    }
    if (s.unacked) s.relay.credit(s.unacked);
    s.unacked = 0;
    for (const b of s.queued.splice(0)) s.relay.stdin(b);
    if (s.clientFin) s.relay.closeStdin();
  };

  const onFrame = async (f: Frame) => {
    if (!f.control) {
      const s = streams.get(f.streamId);
      if (!s) return;
      if (s.type === "data" && f.data.length) {
        if (s.relay) {
          s.relay.stdin(f.data);
          if (s.relay.stdinBlocked) {
            ws.pause();
            s.relay.onStdinOpen(() => ws.resume());
          }
        } else s.queued.push(f.data);
      }
      if (f.flags & FLAG_FIN) {
        s.clientFin = true;
        s.relay?.closeStdin();
        forgetIfDone(s);
      }
      return;
    }
    switch (f.type) {
      case FrameType.synStream: {
        const id = f.data.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await inflate.process(f.data.subarray(10)));
        const port = Number(headers.port);
        const s: Stream = { id, type: headers.streamtype ?? "", requestID: headers.requestid ?? "", port, finSent: false, queued: [], clientFin: (f.flags & FLAG_FIN) !== 0, unacked: 0 };
        streams.set(id, s);
        const idBuf = Buffer.alloc(4);
        idBuf.writeUInt32BE(id, 0);
        send(controlFrame(FrameType.synReply, 0, Buffer.concat([idBuf, await deflate.process(encodeHeaderBlock({}))])));
        if (s.type === "error") errorStreams.set(s.requestID, id);
        else if (s.type === "data") {
          if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(s, `invalid port ${headers.port}`);
          void openData(s);
        } else send(rstStream(id, 1));
        return;
      }
      case FrameType.rstStream: {
        const s = streams.get(f.data.readUInt32BE(0) & 0x7fffffff);
        s?.relay?.cancel();
        if (s) streams.delete(s.id);
        return;
      }
      case FrameType.ping:
        send(controlFrame(FrameType.ping, 0, f.data));
        return;
      case FrameType.goaway:
        ws.close(1000);
        return;
      case FrameType.synReply:
      case FrameType.settings:
      case FrameType.headers:
      case FrameType.windowUpdate:
      default:
        return;
    }
  };

  ws.onDrain(() => {
    for (const s of streams.values()) {
      if (!s.unacked || !s.relay) continue;
      s.relay.credit(s.unacked);
      s.unacked = 0;
    }
  });
  ws.onMessage((m) => {
    buf = buf.length ? Buffer.concat([buf, m]) : m;
    const { frames, rest } = parseFrames(buf);
    buf = Buffer.from(rest);
    for (const f of frames) chain = chain.then(() => onFrame(f)).catch(() => ws.close(1011, "bad SPDY frame"));
  });
  ws.onClose(() => {
    for (const s of streams.values()) s.relay?.cancel();
    streams.clear();
    inflate.close();
    deflate.close();
  });
  return ws;
}
