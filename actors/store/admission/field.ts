/**
 * Field errors shaped like Kubernetes' apimachinery `field.Error`: a path, a reason and a body
 * (`Required value`, `Invalid value: "x": detail`, …). Causes are plain data (bus/errors.ts `Cause`).
 */
import type { Cause } from "../../../bus/errors.ts";

export const Reason = {
  Required: "FieldValueRequired",
  Invalid: "FieldValueInvalid",
  Duplicate: "FieldValueDuplicate",
  NotSupported: "FieldValueNotSupported",
  Forbidden: "FieldValueForbidden",
  TooLong: "FieldValueTooLong",
  NotFound: "FieldValueNotFound",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** A field path under construction: `path("spec").child("containers").index(0).child("image")`. */
export class Path {
  private constructor(private readonly text: string) {}
  static root(name: string): Path {
    return new Path(name);
  }
  child(...names: string[]): Path {
    return new Path([this.text, ...names].filter((s) => s !== "").join("."));
  }
  index(i: number): Path {
    return new Path(`${this.text}[${i}]`);
  }
  key(k: string): Path {
    return new Path(`${this.text}[${k}]`);
  }
  toString(): string {
    return this.text;
  }
}
export const path = (...names: string[]): Path => Path.root(names.join("."));

/** Renders a bad value the way Go's field errors do: strings quoted, numbers and booleans bare. */
export function formatValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === undefined) return "null";
  return JSON.stringify(v);
}

const withDetail = (body: string, detail: string | undefined) => (detail ? `${body}: ${detail}` : body);

export const required = (p: Path, detail = ""): Cause => ({
  field: String(p),
  reason: Reason.Required,
  message: withDetail("Required value", detail),
});
export const invalid = (p: Path, value: unknown, detail: string): Cause => ({
  field: String(p),
  reason: Reason.Invalid,
  message: withDetail(`Invalid value: ${formatValue(value)}`, detail),
});
export const duplicate = (p: Path, value: unknown, detail = ""): Cause => ({
  field: String(p),
  reason: Reason.Duplicate,
  message: withDetail(`Duplicate value: ${formatValue(value)}`, detail),
});
export const notSupported = (p: Path, value: unknown, valid: readonly string[]): Cause => ({
  field: String(p),
  reason: Reason.NotSupported,
  message: withDetail(
    `Unsupported value: ${formatValue(value)}`,
    valid.length ? `supported values: ${[...valid].sort().map((s) => JSON.stringify(s)).join(", ")}` : "",
  ),
});
export const forbidden = (p: Path, detail: string): Cause => ({
  field: String(p),
  reason: Reason.Forbidden,
  message: withDetail("Forbidden", detail),
});
export const tooLong = (p: Path, max: number): Cause => ({
  field: String(p),
  reason: Reason.TooLong,
  message: `Too long: may not be more than ${max} bytes`,
});
export const notFound = (p: Path, value: unknown): Cause => ({
  field: String(p),
  reason: Reason.NotFound,
  message: `Not found: ${formatValue(value)}`,
});

/** The text of one cause as Kubernetes prints it inside an Invalid message: `field: body`. */
export const causeText = (c: Cause): string => (c.field ? `${c.field}: ${c.message}` : c.message);

// ---- shape helpers for objects that arrive as untyped JSON ----
export type Rec = Record<string, unknown>;
export const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);
export const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
/** The array at `v`, or [] when absent; a present non-array is reported by `shapeOf`. */
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const rec = (v: unknown): Rec => (isRec(v) ? v : {});
export const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Reports a present field of the wrong JSON type (Kubernetes rejects these at decode time). */
export function wrongType(p: Path, v: unknown, want: "object" | "array" | "string" | "integer" | "boolean"): Cause[] {
  if (v === undefined || v === null) return [];
  const okType =
    want === "object" ? isRec(v) : want === "array" ? Array.isArray(v) : want === "integer" ? isInt(v) : typeof v === want;
  return okType ? [] : [invalid(p, v, `must be of type ${want}`)];
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (!isRec(a) || !isRec(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
}
