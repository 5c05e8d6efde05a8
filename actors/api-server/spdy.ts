/**
 * SPDY/3.1 framing, as much as Kubernetes' port-forward protocol uses (kubectl 1.31+ tunnels it
 * inside a WebSocket, subprotocol `SPDY/3.1+portforward.k8s.io`): SYN_STREAM / SYN_REPLY with
 * zlib-compressed header blocks (one compression context per direction, primed with the SPDY/3
 * dictionary), DATA with FIN, RST_STREAM, PING, SETTINGS, WINDOW_UPDATE and GOAWAY.
 */
import { createDeflate, createInflate, constants } from "node:zlib";
import type { Deflate, Inflate } from "node:zlib";

export const FrameType = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goaway: 7, headers: 8, windowUpdate: 9 } as const;
export const FLAG_FIN = 0x01;

export type Frame =
  | { control: true; type: number; flags: number; data: Buffer }
  | { control: false; streamId: number; flags: number; data: Buffer };

const WORDS =
  "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age allow authorization cache-control connection content-base content-encoding content-language content-length content-location content-md5 content-range content-type date etag expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate method get status|200 OK|version HTTP/1.1 url public set-cookie keep-alive origin";
const TAIL =
  "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
  "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
  "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
  "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
  "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,public" +
  "privatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

/** The SPDY/3 header compression dictionary (SPDY draft 3, section 2.6.10.1). */
export const SPDY3_DICTIONARY: Buffer = (() => {
  const words = WORDS.split("|").flatMap((part, i) => (i % 2 === 1 ? [part] : part.split(" ").filter(Boolean)));
  const parts = words.map((w) => {
    const b = Buffer.alloc(4 + w.length);
    b.writeUInt32BE(w.length, 0);
    b.write(w, 4, "latin1");
    return b;
  });
  return Buffer.concat([...parts, Buffer.from(TAIL, "latin1")]);
})();

/** Splits complete frames off the front of `buf`; returns them and what is left. */
export function parseFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let off = 0;
  while (buf.length - off >= 8) {
    const len = buf.readUIntBE(off + 5, 3);
    if (buf.length - off < 8 + len) break;
    const flags = buf[off + 4]!;
    const data = Buffer.from(buf.subarray(off + 8, off + 8 + len));
    if (buf[off]! & 0x80) frames.push({ control: true, type: buf.readUInt16BE(off + 2), flags, data });
    else frames.push({ control: false, streamId: buf.readUInt32BE(off) & 0x7fffffff, flags, data });
    off += 8 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

export function controlFrame(type: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h[4] = flags;
  h.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([h, data]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h[4] = flags;
  h.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([h, data]);
}

export function rstStream(streamId: number, status: number): Buffer {
  const d = Buffer.alloc(8);
  d.writeUInt32BE(streamId & 0x7fffffff, 0);
  d.writeUInt32BE(status, 4);
  return controlFrame(FrameType.rstStream, 0, d);
}

export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const entries = Object.entries(headers);
  const parts = [Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(entries.length, 0);
  for (const [k, v] of entries) {
    for (const s of [k.toLowerCase(), v]) {
      const b = Buffer.alloc(4 + Buffer.byteLength(s));
      b.writeUInt32BE(Buffer.byteLength(s), 0);
      b.write(s, 4);
      parts.push(b);
    }
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 4;
  const n = b.readUInt32BE(0);
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32BE(off);
    const k = b.subarray(off + 4, off + 4 + kl).toString("utf8");
    off += 4 + kl;
    const vl = b.readUInt32BE(off);
    out[k.toLowerCase()] = b.subarray(off + 4, off + 4 + vl).toString("utf8");
    off += 4 + vl;
  }
  return out;
}

/** One direction's compression context: each call is one header block, flushed (Z_SYNC_FLUSH). */
export class HeaderZlib {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly z: Inflate | Deflate;
  constructor(kind: "inflate" | "deflate") {
    this.z = kind === "inflate" ? createInflate({ dictionary: SPDY3_DICTIONARY }) : createDeflate({ dictionary: SPDY3_DICTIONARY });
    this.z.on("error", () => undefined);
  }
  process(block: Buffer): Promise<Buffer> {
    const run = () =>
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const onData = (d: Buffer) => chunks.push(d);
        const onError = (e: Error) => reject(e);
        this.z.on("data", onData);
        this.z.once("error", onError);
        this.z.write(block);
        this.z.flush(constants.Z_SYNC_FLUSH, () => {
          this.z.off("data", onData);
          this.z.off("error", onError);
          resolve(Buffer.concat(chunks));
        });
      });
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }
  close(): void {
    this.z.close();
  }
}
