/**
 * HTTP/1.1 over TLS byte for byte, for specs that send what a well-behaved client never would
 * (bad escapes, NUL bytes, truncated bodies) and compare the answer's exact bytes. Loopback only.
 */
import type { TLSSocket } from "node:tls";
import { connect } from "node:tls";

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body as sent (chunked framing removed). */
  body: string;
}

/** Parses one HTTP/1.1 response from its bytes. */
export function parseResponse(raw: Buffer): RawAnswer {
  const split = raw.indexOf("\r\n\r\n");
  if (split < 0) throw new Error(`no complete response head in ${JSON.stringify(raw.toString("latin1").slice(0, 200))}`);
  const [statusLine, ...lines] = raw.subarray(0, split).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine!)?.[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(split + 4);
  if (headers["transfer-encoding"] === "chunked") {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = body.indexOf("\r\n", at);
      if (eol < 0) break;
      const n = parseInt(body.subarray(at, eol).toString("latin1"), 16);
      if (!(n > 0)) break;
      parts.push(body.subarray(eol + 2, eol + 2 + n));
      at = eol + 2 + n + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers["content-length"] !== undefined) {
    body = body.subarray(0, Number(headers["content-length"]));
  }
  return { status, headers, body: body.toString("utf8") };
}

/** Opens a TLS connection to `https://127.0.0.1:port` trusting `ca`. */
export function openTls(url: string, ca: string): Promise<TLSSocket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca, servername: undefined }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Sends `head` (and `body`) with `Connection: close` and reads the whole answer. */
export async function rawRequest(url: string, ca: string, head: string | Buffer, body?: Buffer | string, o: { timeoutMs?: number } = {}): Promise<RawAnswer> {
  const s = await openTls(url, ca);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${o.timeoutMs ?? 10_000} ms`));
    }, o.timeoutMs ?? 10_000);
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(t);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (e) {
        reject(e);
      }
    });
    s.write(head);
    if (body !== undefined) s.write(body);
  });
}

/** A request head: `METHOD target HTTP/1.1`, Host, Connection: close and the given headers. */
export function requestHead(method: string, target: string | Buffer, headers: Record<string, string> = {}): Buffer {
  const lines = Object.entries({ Host: "127.0.0.1", Connection: "close", ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  return Buffer.concat([Buffer.from(`${method} `), Buffer.isBuffer(target) ? target : Buffer.from(target, "latin1"), Buffer.from(` HTTP/1.1\r\n${lines.join("")}\r\n`)]);
}
