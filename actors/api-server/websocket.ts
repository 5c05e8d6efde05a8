/**
 * The server side of RFC 6455 WebSockets, as much as Kubernetes' streaming subresources need:
 * the handshake with subprotocol choice, binary and text messages (fragmented or not, masked by the
 * client), ping/pong and close. Back-pressure: `send` returns false when the socket's buffer is
 * full, and `onDrain` says when it emptied; `pause`/`resume` stop reading from the client.
 *
 * @example
 *   const ws = acceptWebSocket(req, socket, head, ["v5.channel.k8s.io", "v4.channel.k8s.io"]);
 *   if (ws) ws.onMessage((data) => …);
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { createHash } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const Op = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
/** The largest message accepted from a client (kubectl sends stdin in 32 KiB pieces). */
const MAX_MESSAGE = 16 * 1024 * 1024;

/** The subprotocols a client offers, in its order of preference. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers["sec-websocket-protocol"];
  return (Array.isArray(h) ? h.join(",") : (h ?? "")).split(",").map((s) => s.trim()).filter(Boolean);
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? "").toLowerCase() === "websocket" && typeof req.headers["sec-websocket-key"] === "string";
}

/** Builds one frame (server frames are never masked). */
export function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

export interface WebSocketConn {
  readonly protocol: string;
  send(data: Buffer): boolean;
  onMessage(cb: (data: Buffer) => void): void;
  onClose(cb: () => void): void;
  onDrain(cb: () => void): void;
  pause(): void;
  resume(): void;
  /** Sends a close frame and ends the connection. */
  close(code?: number, reason?: string): void;
}

/**
 * Completes the handshake choosing the first of `protocols` the client offers (the server's order
 * wins, as Kubernetes' does). Answers 400 and returns undefined when none fits.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocols: string[]): WebSocketConn | undefined {
  const offered = offeredProtocols(req);
  const protocol = protocols.find((p) => offered.includes(p));
  if (!protocol || !isWebSocketUpgrade(req)) {
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nunsupported websocket subprotocols: ${offered.join(", ") || "(none)"}; this server speaks ${protocols.join(", ")}\n`);
    return undefined;
  }
  const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}${GUID}`).digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
  return wrap(socket, head, protocol);
}

function wrap(socket: Duplex, head: Buffer, protocol: string): WebSocketConn {
  const messageCbs: ((d: Buffer) => void)[] = [];
  const closeCbs: (() => void)[] = [];
  const drainCbs: (() => void)[] = [];
  let buf: Buffer = head.length ? Buffer.from(head) : Buffer.alloc(0);
  let parts: Buffer[] = [];
  let partsLen = 0;
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    closeCbs.forEach((cb) => cb());
  };
  const sendRaw = (b: Buffer) => (socket.writable ? socket.write(b) : false);
  const close = (code = 1000, reason = "") => {
    if (!closed && socket.writable) {
      const p = Buffer.alloc(2 + Buffer.byteLength(reason));
      p.writeUInt16BE(code, 0);
      p.write(reason, 2);
      socket.end(frame(Op.close, p));
    }
    finish();
  };
  const parse = () => {
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0]! & 0x80) !== 0;
      const opcode = buf[0]! & 0x0f;
      const masked = (buf[1]! & 0x80) !== 0;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) return close(1009, "message too big");
        len = Number(big);
        off = 10;
      }
      if (!masked) return close(1002, "client frames must be masked");
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      buf = buf.subarray(off + 4 + len);
      if (opcode === Op.close) return close(1000);
      if (opcode === Op.ping) {
        sendRaw(frame(Op.pong, payload));
        continue;
      }
      if (opcode === Op.pong) continue;
      if (opcode !== Op.continuation && opcode !== Op.text && opcode !== Op.binary) return close(1002, "unknown opcode");
      parts.push(payload);
      partsLen += payload.length;
      if (partsLen > MAX_MESSAGE) return close(1009, "message too big");
      if (!fin) continue;
      const msg = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      parts = [];
      partsLen = 0;
      messageCbs.forEach((cb) => cb(msg));
    }
  };
  socket.on("data", (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    parse();
  });
  socket.on("drain", () => drainCbs.forEach((cb) => cb()));
  socket.on("end", finish);
  socket.on("close", finish);
  socket.on("error", finish);
  queueMicrotask(parse);
  return {
    protocol,
    send: (data) => sendRaw(frame(Op.binary, data)),
    onMessage: (cb) => void messageCbs.push(cb),
    onClose: (cb) => void closeCbs.push(cb),
    onDrain: (cb) => void drainCbs.push(cb),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    close,
  };
}
