/**
 * Answers to zone queries in wire format, keyed by what the answer depends on: the question's name
 * (lower-cased, as DNS compares names), its type and class, the RD flag that is copied back, and the
 * transport (UDP answers may be truncated). A hit copies the stored response and writes in only the
 * query's 2-byte id and the question name's bytes as the client spelled them (its case, e.g. DNS
 * 0x20 randomisation), so a query is answered with no decoding, no encoding and no dns-packet objects.
 * The response itself was encoded once with `dns-packet` on the first miss.
 *
 * Only plain queries are looked up (QR 0, opcode QUERY, exactly one question, no answer or
 * authority records, an uncompressed name of ASCII labels); anything else takes the full path.
 * Forwarded names, errors and malformed packets are never stored. `clear()` runs on every zone
 * change (the informers' rebuild).
 *
 * @example
 *   const hit = cache.get(raw, true);          // a Buffer to send, or undefined
 *   if (!hit) cache.set(raw, true, encoded);   // after answering it the slow way
 */

/** Distinct questions kept between zone changes (the cache starts over past it). */
const CACHE_MAX = 65_536;
const HEADER = 12;
const MAX_NAME = 255;
/** ASCII case folding of one byte, the only folding DNS names have (RFC 4343). */
const lower = (b: number) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

export class AnswerCache {
  private entries = new Map<string, Buffer>();
  /** Scratch space for building a key without allocating a buffer per query. */
  private readonly scratch = Buffer.allocUnsafe(2 + MAX_NAME + 4);

  /** The key and the question name's end (offset of QTYPE), or undefined for a query the cache does not serve. */
  private key(raw: Buffer, udp: boolean): { key: string; nameEnd: number } | undefined {
    if (raw.length < HEADER + 5) return undefined;
    const flags = raw.readUInt16BE(2);
    // A response, or an opcode other than QUERY.
    if (flags & 0x8000 || (flags >> 11) & 0xf) return undefined;
    if (raw.readUInt16BE(4) !== 1 || raw.readUInt16BE(6) !== 0 || raw.readUInt16BE(8) !== 0) return undefined;
    const s = this.scratch;
    s[0] = udp ? 0x75 : 0x74;
    s[1] = flags & 0x0100 ? 0x72 : 0x6e;
    let i = HEADER;
    let o = 2;
    for (;;) {
      if (i >= raw.length) return undefined;
      const len = raw[i]!;
      if (len === 0) break;
      // A compression pointer or a reserved label type: not in a plain question.
      if (len > 63 || i + 1 + len > raw.length || i + 1 + len - HEADER > MAX_NAME) return undefined;
      s[o++] = len;
      for (let j = i + 1; j <= i + len; j++) {
        const b = raw[j]!;
        if (b >= 0x80) return undefined;
        s[o++] = lower(b);
      }
      i += 1 + len;
    }
    const nameEnd = i + 1;
    if (nameEnd + 4 > raw.length) return undefined;
    s[o++] = 0;
    raw.copy(s, o, nameEnd, nameEnd + 4);
    return { key: s.toString("latin1", 0, o + 4), nameEnd };
  }

  /** The stored response for this query, with the query's id and name spelling; undefined on a miss. */
  get(raw: Buffer, udp: boolean): Buffer | undefined {
    if (this.entries.size === 0) return undefined;
    const k = this.key(raw, udp);
    const hit = k && this.entries.get(k.key);
    if (!k || !hit) return undefined;
    const out = Buffer.allocUnsafe(hit.length);
    hit.copy(out);
    raw.copy(out, 0, 0, 2);
    raw.copy(out, HEADER, HEADER, k.nameEnd);
    return out;
  }

  /** Stores `response` (encoded for this query) for every later query with the same key. */
  set(raw: Buffer, udp: boolean, response: Buffer): void {
    const k = this.key(raw, udp);
    // The response must carry the question at the same place and length for the copy-in to hold.
    if (!k || response.length < k.nameEnd + 4 || response.readUInt16BE(4) !== 1) return;
    for (let i = HEADER; i < k.nameEnd + 4; i++) {
      const a = raw[i]!;
      const b = response[i]!;
      if (lower(a) !== lower(b)) return;
    }
    if (this.entries.size >= CACHE_MAX) this.entries = new Map();
    const stored = Buffer.from(response);
    stored.writeUInt16BE(0, 0);
    this.entries.set(k.key, stored);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    if (this.entries.size) this.entries = new Map();
  }
}
