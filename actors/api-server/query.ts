/**
 * The request target and its query parameters, read the way kube-apiserver reads them, with every
 * malformed value answered as a 400 that names the parameter. Pure: no I/O.
 *
 * - Escapes are strict: `%` must be followed by two hex digits and the bytes must be UTF-8.
 * - Booleans follow apimachinery's `Convert_Slice_string_To_bool`: only `0` and `false` (any case)
 *   are false, every other value (`true`, `True`, `1`, `t`, even the empty string) is true.
 *   `pretty` alone uses Go's `strconv.ParseBool`, and an unparsable `pretty` is simply off.
 * - Integers follow Go's `strconv.ParseInt(s, 10, 64)`: an optional sign and decimal digits,
 *   within int64; `resourceVersion` follows `strconv.ParseUint(s, 10, 64)`.
 * - `timeout` is a Go duration (`time.ParseDuration`: `32s`, `1m30s`, `250ms`).
 *
 * @example
 *   const q = parseQuery("watch=True&timeoutSeconds=30");
 *   kubeBool(q, "watch"); // true
 *   int64Param(q, "timeoutSeconds"); // 30
 */
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

const badRequest = (msg: string) => new FlotillaError(ErrorCode.BadRequest, msg);
const quote = (s: string) => JSON.stringify(s);

/** `%XX` must be hex and the result UTF-8; `what` names the part for the message. */
export function strictUnescape(s: string, what: string, plusIsSpace = false): string {
  const bad = /%(?![0-9A-Fa-f]{2})/.exec(s);
  if (bad) throw badRequest(`${what}: invalid URL escape ${quote(s.slice(bad.index, bad.index + 3))}`);
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, " ") : s);
  } catch {
    throw badRequest(`${what}: the escaped bytes are not valid UTF-8`);
  }
}

/** The raw query (after `?`) → parameters, like Go's `url.ParseQuery` but refusing bad escapes. */
export function parseQuery(raw: string): URLSearchParams {
  const q = new URLSearchParams();
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const key = strictUnescape(rawKey, `query parameter ${quote(rawKey)}`, true);
    const value = eq < 0 ? "" : strictUnescape(part.slice(eq + 1), `query parameter ${quote(key)}`, true);
    q.append(key, value);
  }
  return q;
}

/** The request target (`/path?query`, or absolute-form) split into its raw path and raw query. */
export function splitTarget(target: string): { path: string; query: string } {
  let t = target;
  const abs = /^https?:\/\/[^/?]*/i.exec(t);
  if (abs) t = t.slice(abs[0].length) || "/";
  if (!t.startsWith("/")) throw badRequest(`malformed request target ${quote(target.slice(0, 64))}`);
  const i = t.indexOf("?");
  return i < 0 ? { path: t, query: "" } : { path: t.slice(0, i), query: t.slice(i + 1) };
}

/** apimachinery's query boolean: absent → undefined; `0`/`false` (any case) → false; else true. */
export function kubeBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return !(v === "0" || v.toLowerCase() === "false");
}

const GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"];
const GO_FALSE = ["0", "f", "F", "FALSE", "false", "False"];

/** Go's `strconv.ParseBool`; undefined for anything else. */
export function goParseBool(s: string): boolean | undefined {
  if (GO_TRUE.includes(s)) return true;
  if (GO_FALSE.includes(s)) return false;
  return undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's `strconv.ParseInt(s, 10, 64)`, with Go's error text. */
export function goParseInt64(s: string): { ok: true; value: number } | { ok: false; error: string } {
  if (!/^[+-]?[0-9]+$/.test(s)) return { ok: false, error: `strconv.ParseInt: parsing ${quote(s)}: invalid syntax` };
  const n = BigInt(s);
  if (n < INT64_MIN || n > INT64_MAX) return { ok: false, error: `strconv.ParseInt: parsing ${quote(s)}: value out of range` };
  return { ok: true, value: Number(n) };
}

/** Go's `strconv.ParseUint(s, 10, 64)`, with Go's error text. */
export function goParseUint64(s: string): { ok: true; value: bigint } | { ok: false; error: string } {
  if (!/^[0-9]+$/.test(s)) return { ok: false, error: `strconv.ParseUint: parsing ${quote(s)}: invalid syntax` };
  const n = BigInt(s);
  if (n > UINT64_MAX) return { ok: false, error: `strconv.ParseUint: parsing ${quote(s)}: value out of range` };
  return { ok: true, value: n };
}

/** An int64 query parameter; absent → undefined; malformed → 400 naming it. */
export function int64Param(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  const r = goParseInt64(v);
  if (!r.ok) throw badRequest(`${name}: Invalid value: ${quote(v)}: ${r.error}`);
  return r.value;
}

/** `resourceVersion`: "" and "0" mean "any"; otherwise an unsigned 64-bit integer. */
export function resourceVersionParam(q: URLSearchParams): number | undefined {
  const v = q.get("resourceVersion");
  if (v === null || v === "" || v === "0") return v === "0" ? 0 : undefined;
  const r = goParseUint64(v);
  if (!r.ok) throw badRequest(`resourceVersion: Invalid value: ${quote(v)}: ${r.error}`);
  return Number(r.value);
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "\u00b5s": 1e-3, "\u03bcs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's `time.ParseDuration`, in milliseconds, with Go's error text. */
export function goParseDuration(s: string): { ok: true; ms: number } | { ok: false; error: string } {
  const invalid = { ok: false as const, error: `time: invalid duration ${quote(s)}` };
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest[0] === "-" ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return { ok: true, ms: 0 };
  if (rest === "") return invalid;
  let total = 0;
  while (rest !== "") {
    const num = /^([0-9]*)(?:\.([0-9]*))?/.exec(rest)!;
    if (num[0] === "" || num[0] === "." || (num[1] === "" && (num[2] ?? "") === "")) return invalid;
    rest = rest.slice(num[0].length);
    const unit = /^[^0-9.]*/.exec(rest)![0];
    if (unit === "") return { ok: false, error: `time: missing unit in duration ${quote(s)}` };
    const per = UNIT_MS[unit];
    if (per === undefined) return { ok: false, error: `time: unknown unit ${quote(unit)} in duration ${quote(s)}` };
    rest = rest.slice(unit.length);
    total += Number(`${num[1] || "0"}.${num[2] || "0"}`) * per;
  }
  if (total > 9_223_372_036_854.775) return invalid; // beyond int64 nanoseconds
  return { ok: true, ms: sign * total };
}

/** `timeout=<Go duration>` for a non-watch request, in ms; malformed → 400 as kube-apiserver words it. */
export function timeoutParam(q: URLSearchParams): number | undefined {
  const v = q.get("timeout");
  if (v === null || v === "") return undefined;
  const r = goParseDuration(v);
  if (!r.ok) throw badRequest(`invalid timeout specified in the request URL - ${r.error}`);
  return r.ms;
}

/**
 * kube-apiserver's `isPrettyPrint`: `pretty=<ParseBool>` decides when given; otherwise curl, Wget
 * and browsers get indented JSON. Never throws (it also shapes error answers).
 */
export function isPrettyPrint(rawQuery: string, userAgent: string | undefined): boolean {
  if (rawQuery.includes("pretty")) {
    let pp: string | null = null;
    try {
      pp = parseQuery(rawQuery).get("pretty");
    } catch {
      pp = new URLSearchParams(rawQuery).get("pretty");
    }
    if (pp) return goParseBool(pp) ?? false;
  }
  const ua = userAgent ?? "";
  return ua.startsWith("curl") || ua.startsWith("Wget") || ua.startsWith("Mozilla/5.0");
}
