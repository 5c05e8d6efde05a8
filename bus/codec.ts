/** JSON payloads on the wire. */
const enc = new TextEncoder();
const dec = new TextDecoder();
export function encode(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}
export function decode<T = unknown>(data: Uint8Array): T {
  return JSON.parse(dec.decode(data)) as T;
}
