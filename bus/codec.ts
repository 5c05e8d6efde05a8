/** JSON payloads on the wire, and the checks every message from outside passes before use. */
import { ErrorCode, FlotillaError } from "./errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
export function encode(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}
export function decode<T = unknown>(data: Uint8Array): T {
  return JSON.parse(dec.decode(data)) as T;
}

/** Above the api-server's 3 MiB body limit plus the request envelope; below nats-server's 8 MB. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Kubernetes objects nest about 15 levels deep; nothing legitimate comes near this. */
export const MAX_MESSAGE_DEPTH = 100;
/** Keys that change an object's prototype when assigned (`o[k] = v`): never accepted from outside. */
export const FORBIDDEN_KEYS: readonly string[] = ["__proto__"];

export interface MessageLimits {
  maxBytes?: number;
  maxDepth?: number;
}

/**
 * Checks a decoded value from outside: at most `maxDepth` levels of objects/arrays and no
 * `__proto__` key anywhere. Iterative, so a hostile depth cannot exhaust the stack.
 */
export function checkUntrusted(value: unknown, where: string, maxDepth = MAX_MESSAGE_DEPTH): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= maxDepth) throw new FlotillaError(ErrorCode.Invalid, `malformed message on ${where}: nested deeper than ${maxDepth} levels`);
    if (Array.isArray(v)) {
      for (const x of v) stack.push([x, depth + 1]);
      continue;
    }
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.includes(k)) throw new FlotillaError(ErrorCode.Invalid, `malformed message on ${where}: the key ${JSON.stringify(k)} is not allowed`);
      stack.push([(v as Record<string, unknown>)[k], depth + 1]);
    }
  }
}

/**
 * The nesting depth of JSON text (objects and arrays), or -1 when the text may spell a forbidden
 * key: it holds one literally, or holds a `\u` escape that could. Strings are skipped.
 */
function textDepth(text: string): number {
  if (text.includes("\\u") || FORBIDDEN_KEYS.some((k) => text.includes(k))) return -1;
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: to its closing quote, stepping over escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Reused: a fatal decoder keeps no state between whole (non-streaming) calls. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a message from outside: size, JSON, depth and key checks, each failure a typed error. */
export function decodeUntrusted(data: Uint8Array, where: string, limits: MessageLimits = {}): unknown {
  const maxBytes = limits.maxBytes ?? MAX_MESSAGE_BYTES;
  if (data.length > maxBytes) {
    throw new FlotillaError(ErrorCode.RequestEntityTooLarge, `message on ${where} is ${data.length} bytes, limit is ${maxBytes}`);
  }
  let raw: unknown;
  let text: string;
  try {
    text = strictUtf8.decode(data);
    raw = JSON.parse(text);
  } catch {
    throw new FlotillaError(ErrorCode.Invalid, `malformed message on ${where}: not JSON`);
  }
  // Most messages are checked on their text alone; one that may spell a forbidden key is walked.
  const depth = textDepth(text);
  const maxDepth = limits.maxDepth ?? MAX_MESSAGE_DEPTH;
  if (depth < 0) checkUntrusted(raw, where, maxDepth);
  // The walk counts a value inside `maxDepth` containers as too deep; so does this.
  else if (depth > maxDepth) throw new FlotillaError(ErrorCode.Invalid, `malformed message on ${where}: nested deeper than ${maxDepth} levels`);
  return raw;
}
