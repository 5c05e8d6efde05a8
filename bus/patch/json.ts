/** Small helpers over JSON values shared by the patch appliers. */
import { ErrorCode, FlotillaError } from "../errors.ts";

export type JsonObject = Record<string, unknown>;

/** Refuses a key that would reach an object's prototype when assigned (`o["__proto__"] = v`). */
export function safeKey(key: string): string {
  if (key === "__proto__") throw new FlotillaError(ErrorCode.BadRequest, `the key "__proto__" is not allowed in a patch`);
  return key;
}

/** An own property only: `o.constructor` and the like never count as present. */
export function own(o: JsonObject, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A deep copy of a JSON value (patch appliers never touch their inputs). */
export function cloneJson<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** JSON equality: objects compare by keys regardless of order, arrays element-wise. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}
