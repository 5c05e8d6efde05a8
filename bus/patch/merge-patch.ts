/**
 * JSON merge patch (RFC 7386), as sent with `Content-Type: application/merge-patch+json`
 * (kubectl label/annotate/scale, `patch --type=merge`). Inputs are never modified.
 *
 * @example applyMergePatch({ a: 1, b: { c: 2 } }, { b: { c: null, d: 3 } }) // → { a: 1, b: { d: 3 } }
 */
import { cloneJson, isObject, own, safeKey } from "./json.ts";

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  return mergeInto(cloneJson(target), patch);
}

/** Merges `patch` into `target`, which the caller owns and which may be modified. */
function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  const result = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[safeKey(key)];
    else result[safeKey(key)] = mergeInto(own(result, key), value);
  }
  return result;
}
