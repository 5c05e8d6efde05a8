/**
 * Structural schemas (apiextensions' openAPIV3Schema), applied to custom resources: defaulting,
 * pruning of unknown fields and validation, each a pure function over plain JSON. Field errors
 * are Kubernetes-shaped causes (`spec.size: Invalid value: 0: spec.size in body should be greater
 * than or equal to 1`).
 *
 * @example
 *   const o = structuredClone(body);
 *   applyDefaults(schema, o); const pruned = prune(schema, o); const causes = validateSchema(schema, o);
 */
import type { Cause } from "./errors.ts";

export type Schema = Record<string, unknown>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const props = (s: Schema): Record<string, Schema> => (isObj(s.properties) ? (s.properties as Record<string, Schema>) : {});
const itemsOf = (s: Schema): Schema | undefined => (isObj(s.items) ? (s.items as Schema) : undefined);
const additional = (s: Schema): Schema | boolean | undefined =>
  isObj(s.additionalProperties) ? (s.additionalProperties as Schema) : typeof s.additionalProperties === "boolean" ? s.additionalProperties : undefined;
const preserves = (s: Schema): boolean => s["x-kubernetes-preserve-unknown-fields"] === true;
const intOrString = (s: Schema): boolean => s["x-kubernetes-int-or-string"] === true;

/** The fields every object has and that the schema does not describe (apiVersion, kind, metadata). */
const ROOT_FIELDS = ["apiVersion", "kind", "metadata"];

/** Fills `default`s in place, top-down (a defaulted object gets its own children's defaults). */
export function applyDefaults(schema: Schema, value: unknown): void {
  if (isObj(value)) {
    for (const [k, s] of Object.entries(props(schema))) {
      if (value[k] === undefined && s.default !== undefined) value[k] = structuredClone(s.default);
      if (value[k] !== undefined) applyDefaults(s, value[k]);
    }
    const ap = additional(schema);
    if (isObj(ap)) for (const [k, v] of Object.entries(value)) if (!(k in props(schema))) applyDefaults(ap, v);
  } else if (Array.isArray(value)) {
    const it = itemsOf(schema);
    if (it) for (const v of value) applyDefaults(it, v);
  }
}

/** Removes, in place, the fields the schema does not know; answers their paths. */
export function prune(schema: Schema, value: unknown, at = "", root = true): string[] {
  const out: string[] = [];
  if (isObj(value)) {
    const known = props(schema);
    const ap = additional(schema);
    for (const k of Object.keys(value)) {
      const p = at ? `${at}.${k}` : k;
      if (root && ROOT_FIELDS.includes(k)) continue;
      const s = known[k] ?? (isObj(ap) ? ap : undefined);
      if (s) out.push(...prune(s, value[k], p, false));
      else if (!preserves(schema) && ap !== true) {
        delete value[k];
        out.push(p);
      }
    }
  } else if (Array.isArray(value)) {
    const it = itemsOf(schema);
    if (it) value.forEach((v, i) => out.push(...prune(it, v, `${at}[${i}]`, false)));
  }
  return out;
}

function show(v: unknown): string {
  return typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v);
}
const invalid = (field: string, value: unknown, detail: string): Cause => ({
  field,
  reason: "FieldValueInvalid",
  message: `Invalid value: ${show(value)}: ${detail}`,
});

function typeOk(type: unknown, v: unknown): boolean {
  switch (type) {
    case "object":
      return isObj(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    default:
      return true;
  }
}

/** Validates `value` against the schema; `at` is the field path ("" for the object itself). */
export function validateSchema(schema: Schema, value: unknown, at = ""): Cause[] {
  const out: Cause[] = [];
  const name = at || "<root>";
  if (value === null) {
    if (schema.nullable === true || schema.type === undefined) return out;
    return [invalid(name, value, `${name} in body must be of type ${String(schema.type)}: "null"`)];
  }
  if (intOrString(schema)) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) {
      out.push(invalid(name, value, `${name} in body must be of type integer or string: ${JSON.stringify(jsonType(value))}`));
    }
  } else if (schema.type !== undefined && !typeOk(schema.type, value)) {
    return [invalid(name, value, `${name} in body must be of type ${String(schema.type)}: ${JSON.stringify(jsonType(value))}`)];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push({ field: name, reason: "FieldValueNotSupported", message: `Unsupported value: ${show(value)}: supported values: ${schema.enum.map(show).join(", ")}` });
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number") {
      if (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum) {
        out.push(invalid(name, value, `${name} in body should be greater than ${schema.exclusiveMinimum === true ? "" : "or equal to "}${schema.minimum}`));
      }
    }
    if (typeof schema.maximum === "number") {
      if (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum) {
        out.push(invalid(name, value, `${name} in body should be less than ${schema.exclusiveMaximum === true ? "" : "or equal to "}${schema.maximum}`));
      }
    }
    if (typeof schema.multipleOf === "number" && schema.multipleOf > 0 && !Number.isInteger(value / schema.multipleOf)) {
      out.push(invalid(name, value, `${name} in body should be a multiple of ${schema.multipleOf}`));
    }
  }
  if (typeof value === "string") {
    const len = [...value].length;
    if (typeof schema.minLength === "number" && len < schema.minLength) out.push(invalid(name, value, `${name} in body should be at least ${schema.minLength} chars long`));
    if (typeof schema.maxLength === "number" && len > schema.maxLength) out.push({ field: name, reason: "FieldValueTooLong", message: `Too long: may not be more than ${schema.maxLength} bytes` });
    if (typeof schema.pattern === "string" && !safeTest(schema.pattern, value)) out.push(invalid(name, value, `${name} in body should match '${schema.pattern}'`));
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) out.push(invalid(name, value.length, `${name} in body should have at least ${schema.minItems} items`));
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) out.push({ field: name, reason: "FieldValueTooMany", message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` });
    const it = itemsOf(schema);
    if (it) value.forEach((v, i) => out.push(...validateSchema(it, v, `${at}[${i}]`)));
  }
  if (isObj(value)) {
    const known = props(schema);
    for (const r of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
      if (value[r] === undefined) out.push({ field: at ? `${at}.${r}` : r, reason: "FieldValueRequired", message: "Required value" });
    }
    const ap = additional(schema);
    for (const [k, v] of Object.entries(value)) {
      if (!at && ROOT_FIELDS.includes(k)) continue;
      const s = known[k] ?? (isObj(ap) ? ap : undefined);
      if (s) out.push(...validateSchema(s, v, at ? `${at}.${k}` : k));
    }
  }
  return out;
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function safeTest(pattern: string, s: string): boolean {
  try {
    return new RegExp(pattern, "u").test(s);
  } catch {
    return true;
  }
}

/**
 * The schema problems that make a CRD's schema unusable (not structural): every node needs a type
 * unless it preserves unknown fields or is int-or-string; the root is an object.
 */
export function structuralErrors(schema: Schema, at: string): Cause[] {
  const out: Cause[] = [];
  const walk = (s: Schema, p: string, root: boolean) => {
    if (s.type === undefined && !preserves(s) && !intOrString(s) && !root) {
      out.push({ field: `${p}.type`, reason: "FieldValueRequired", message: "Required value: must not be empty for specified object fields" });
    }
    for (const [k, c] of Object.entries(props(s))) if (isObj(c)) walk(c, `${p}.properties[${k}]`, false);
    const it = itemsOf(s);
    if (it) walk(it, `${p}.items`, false);
    const ap = additional(s);
    if (isObj(ap)) walk(ap, `${p}.additionalProperties`, false);
  };
  if (schema.type !== "object") out.push({ field: `${at}.type`, reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(schema.type ?? "")}: must be object at the root` });
  walk(schema, at, true);
  return out;
}
