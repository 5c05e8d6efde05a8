/**
 * The store protocol's edge: every request is checked field by field before the store sees it.
 * A field of the wrong type is `Invalid`; a name or namespace that no stored object can have
 * (names are DNS subdomains, namespaces DNS labels) is `NotFound`, answered without touching KV.
 *
 * @example
 *   const req = decodeStoreRequest(JSON.parse(text)); // throws FlotillaError(Invalid) when malformed
 *   refuseUnstorable(req);                            // throws FlotillaError(NotFound) for `pods "a b"`
 */
import type { StoreRequest } from "../../bus/store-protocol.ts";
import { match } from "ts-pattern";
import { STORE_REQUEST_TYPES, PatchType, MAX_BINDINGS } from "../../bus/store-protocol.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { resourceType } from "../../bus/kinds.ts";
import { typedDecoder } from "../../runtime/mailbox.ts";
import { validateFence } from "./fence.ts";
import { isDNS1123Label, isDNS1123Subdomain } from "./admission/names.ts";

type Rec = Record<string, unknown>;

const invalid = (message: string) => new FlotillaError(ErrorCode.Invalid, message);
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);

function requireString(m: Rec, field: string): void {
  if (typeof m[field] !== "string" || m[field] === "") throw invalid(`${field} must be a non-empty string`);
}
/** An optional field: absent, null (dropped here, so the store only sees absent) or of its type. */
function optional(m: Rec, field: string, ok: (v: unknown) => boolean, what: string): void {
  if (m[field] === null) delete m[field];
  if (m[field] !== undefined && !ok(m[field])) throw invalid(`${field} must be ${what}`);
}
const isString = (v: unknown) => typeof v === "string";
const isBool = (v: unknown) => typeof v === "boolean";
const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const oneOf = (values: readonly string[]) => (v: unknown) => typeof v === "string" && values.includes(v);
const SUBRESOURCES = ["status", "scale"] as const;

/** An object body: its envelope fields, when present, are of their types (messages quote them). */
function requireObject(m: Rec, field: string): void {
  const o = m[field];
  if (!isRec(o)) throw invalid(`${field} must be a JSON object`);
  for (const f of ["apiVersion", "kind"]) if (o[f] !== undefined && o[f] !== null && typeof o[f] !== "string") throw invalid(`${field}.${f} must be a string`);
  if (o.metadata === undefined || o.metadata === null) return;
  if (!isRec(o.metadata)) throw invalid(`${field}.metadata must be an object`);
  for (const f of ["name", "generateName", "namespace", "resourceVersion", "uid"]) {
    const v = o.metadata[f];
    if (v !== undefined && v !== null && typeof v !== "string") throw invalid(`${field}.metadata.${f} must be a string`);
  }
}

function checkDeleteOptions(m: Rec): void {
  optional(m, "options", isRec, "an object");
  const o = m.options as Rec | undefined | null;
  if (!o) return;
  optional(o, "gracePeriodSeconds", (v) => typeof v === "number" && Number.isSafeInteger(v), "an integer");
  optional(o, "propagationPolicy", oneOf(["Orphan", "Background", "Foreground"]), `one of "Orphan", "Background", "Foreground"`);
  optional(o, "preconditions", isRec, "an object");
  const p = o.preconditions as Rec | undefined | null;
  if (p) {
    optional(p, "uid", isString, "a string");
    optional(p, "resourceVersion", isString, "a string");
  }
  optional(o, "dryRun", (v) => Array.isArray(v) && v.every(isString), "a list of strings");
}

function checkTarget(m: Rec, named: boolean): void {
  requireString(m, "resource");
  if (named) requireString(m, "name");
  optional(m, "namespace", isString, "a string");
}

/** Decode + validate a store request at the edge. */
export const decodeStoreRequest = typedDecoder<StoreRequest>(STORE_REQUEST_TYPES, (req) => {
  const m = req as unknown as Rec;
  validateFence(req);
  match(req)
    .with({ type: "get" }, () => checkTarget(m, true))
    .with({ type: "list" }, () => {
      checkTarget(m, false);
      optional(m, "labelSelector", isString, "a string");
      optional(m, "fieldSelector", isString, "a string");
      optional(m, "limit", isCount, "a non-negative integer");
      optional(m, "continue", isString, "a string");
    })
    .with({ type: "create" }, () => {
      checkTarget(m, false);
      requireObject(m, "object");
      optional(m, "dryRun", isBool, "a boolean");
      optional(m, "fieldManager", isString, "a string");
    })
    .with({ type: "update" }, () => {
      checkTarget(m, true);
      requireObject(m, "object");
      optional(m, "dryRun", isBool, "a boolean");
      optional(m, "subresource", oneOf(SUBRESOURCES), `"status" or "scale"`);
    })
    .with({ type: "status" }, () => {
      checkTarget(m, true);
      requireObject(m, "object");
    })
    .with({ type: "patch" }, () => {
      checkTarget(m, true);
      if (!oneOf(Object.values(PatchType))(m.patchType)) throw invalid(`patchType must be one of ${Object.values(PatchType).join(", ")}`);
      if (m.patch === undefined || m.patch === null) throw invalid("patch is required");
      // The HTTP answer for a patch document of the wrong shape is 400, as for one that does not parse.
      if (m.patchType === PatchType.json ? !Array.isArray(m.patch) : !isRec(m.patch)) {
        throw new FlotillaError(ErrorCode.BadRequest, m.patchType === PatchType.json ? "a JSON patch must be a list of operations" : "the patch must be a JSON object");
      }
      optional(m, "dryRun", isBool, "a boolean");
      optional(m, "fieldManager", isString, "a string");
      optional(m, "force", isBool, "a boolean");
      optional(m, "subresource", oneOf(SUBRESOURCES), `"status" or "scale"`);
    })
    .with({ type: "delete" }, () => {
      checkTarget(m, true);
      checkDeleteOptions(m);
    })
    .with({ type: "bind" }, () => {
      requireString(m, "namespace");
      requireString(m, "name");
      requireString(m, "node");
      optional(m, "uid", isString, "a string");
    })
    .with({ type: "bindAll" }, () => {
      if (!Array.isArray(m.bindings)) throw invalid("bindings must be a list");
      if (m.bindings.length === 0 || m.bindings.length > MAX_BINDINGS) throw invalid(`bindings must hold 1 to ${MAX_BINDINGS} binds`);
      m.bindings.forEach((b: unknown, i: number) => {
        if (!isRec(b)) throw invalid(`bindings[${i}] must be an object`);
        for (const f of ["namespace", "name", "node"]) if (typeof b[f] !== "string" || b[f] === "") throw invalid(`bindings[${i}].${f} must be a non-empty string`);
        if (b.uid !== undefined && typeof b.uid !== "string") throw invalid(`bindings[${i}].uid must be a string`);
      });
      if (m.scheduledEvents !== undefined) {
        const e = m.scheduledEvents;
        if (!isRec(e) || typeof e.component !== "string" || e.component === "") throw invalid("scheduledEvents.component must be a non-empty string");
        if (e.host !== undefined && typeof e.host !== "string") throw invalid("scheduledEvents.host must be a string");
      }
    })
    .with({ type: "evict" }, () => {
      requireString(m, "namespace");
      requireString(m, "name");
      checkDeleteOptions(m);
    })
    .exhaustive();
});

const notFound = (resource: string, name: string) => {
  const rt = resourceType(resource);
  const qualified = rt?.group ? `${rt.resource}.${rt.group}` : resource;
  return new FlotillaError(ErrorCode.NotFound, `${qualified} "${name}" not found`, {
    details: { name, kind: resource, ...(rt?.group ? { group: rt.group } : {}) },
  });
};

/**
 * Refuses, as NotFound, a request that names an object or namespace no stored object can have.
 * Such names would otherwise reach KV as keys (`*`, `>`, spaces, empty tokens).
 */
export function refuseUnstorable(req: StoreRequest): void {
  const m = req as unknown as Rec;
  if (req.type === "bindAll") {
    // Checked per bind where it is carried out: one unstorable name fails that bind alone.
    return;
  }
  const resource = req.type === "bind" || req.type === "evict" ? "pods" : (m.resource as string);
  const ns = m.namespace;
  if (typeof ns === "string" && ns !== "" && isDNS1123Label(ns).length > 0) throw notFound("namespaces", ns);
  if (req.type === "create") {
    const objectNs = isRec(req.object.metadata) ? req.object.metadata.namespace : undefined;
    if (objectNs !== undefined && objectNs !== null && typeof objectNs !== "string") throw invalid("object.metadata.namespace must be a string");
    if (typeof objectNs === "string" && objectNs !== "" && ns === undefined && isDNS1123Label(objectNs).length > 0) throw notFound("namespaces", objectNs);
    return;
  }
  if (req.type === "list") return;
  const name = m.name as string;
  // `:` (RBAC names such as `system:masters`) is stored encoded (bus/subjects.ts encodeToken).
  if (isDNS1123Subdomain(name.replaceAll(":", "-")).length > 0) throw notFound(resource, name);
}
