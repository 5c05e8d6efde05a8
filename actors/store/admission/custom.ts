/**
 * Admission for CustomResourceDefinitions and for the custom resources they serve. A custom
 * resource is defaulted, pruned and validated by its version's structural schema (bus/structural.ts);
 * a CRD gets its names, versions and schemas checked and, once accepted, the NamesAccepted and
 * Established conditions (apiextensions' naming and establishing controllers, in one step).
 */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { ResourceType } from "../../../bus/kinds.ts";
import type { CustomResourceDefinition, CustomResourceDefinitionCondition } from "../../../bus/crd.ts";
import type { Schema } from "../../../bus/structural.ts";
import type { Admitter, AdmissionContext } from "./types.ts";
import { applyDefaults, prune, validateSchema, structuralErrors } from "../../../bus/structural.ts";
import { CRD_CLEANUP_FINALIZER, customVersion } from "../../../bus/crd.ts";
import { rfc3339 } from "../../../bus/time.ts";
import { path, invalid, required, forbidden, notSupported, isRec, rec, str } from "./field.ts";
import { nameIsDNSSubdomain, isDNS1123Label, isDNS1123Subdomain, isDNS1035Label } from "./names.ts";

/** The schema of the version an object is written at (the storage version's when it names none). */
function schemaFor(rt: ResourceType, version: string): Schema | undefined {
  return (customVersion(rt, version) ?? customVersion(rt, rt.version))?.schema;
}

/** Everything but `metadata`, `apiVersion` and `kind`, which the schema does not govern. */
function body(o: KubeObject): Record<string, unknown> {
  const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/** The admitter of one custom type at the version the request was written at. */
export function customAdmitter(rt: ResourceType, version: string): Admitter {
  const schema = schemaFor(rt, version);
  const statusSchema = schema && isRec(rec(schema.properties).status) ? (rec(schema.properties).status as Schema) : undefined;
  const shape = (o: KubeObject, keepStatus: boolean) => {
    if (!schema) return;
    const b = body(o);
    applyDefaults(schema, b);
    prune(schema, b);
    for (const k of Object.keys(o)) if (!["metadata", "apiVersion", "kind"].includes(k) && !(k in b)) delete o[k];
    Object.assign(o, b);
    if (!keepStatus && rt.subresources.includes("status")) delete o.status;
  };
  return {
    nameFn: nameIsDNSSubdomain,
    tracksGeneration: true,
    defaults(o, ctx) {
      // The status subresource owns status: a create drops the one it was sent.
      shape(o, ctx.operation !== "create");
    },
    validate: (o) => (schema ? validateSchema(schema, withoutStatus(rt, o)) : []),
    defaultStatus(o) {
      if (!statusSchema || o.status === undefined) return;
      applyDefaults(statusSchema, o.status);
      prune(statusSchema, o.status, "status", false);
    },
    validateStatus: (o) => (statusSchema && o.status !== undefined ? validateSchema(statusSchema, o.status, "status") : []),
  };
}

function withoutStatus(rt: ResourceType, o: KubeObject): Record<string, unknown> {
  const b = body(o);
  if (rt.subresources.includes("status")) delete b.status;
  return b;
}

// ---------- CustomResourceDefinition ----------

const SCOPES = ["Namespaced", "Cluster"] as const;

function condition(type: string, reason: string, message: string, now: Date): CustomResourceDefinitionCondition {
  return { type, status: "True", reason, message, lastTransitionTime: rfc3339(now) };
}

function validateCRD(o: KubeObject): Cause[] {
  const crd = o as CustomResourceDefinition;
  const spec = rec(crd.spec) as Partial<CustomResourceDefinition["spec"]>;
  const errs: Cause[] = [];
  const group = str(spec.group);
  const names = rec(spec.names);
  const plural = str(names.plural);
  if (!group) errs.push(required(path("spec", "group")));
  else {
    for (const m of isDNS1123Subdomain(group)) errs.push(invalid(path("spec", "group"), group, m));
    if (!group.includes(".")) errs.push(invalid(path("spec", "group"), group, "should be a domain with at least one dot"));
  }
  if (!plural) errs.push(required(path("spec", "names", "plural")));
  else for (const m of isDNS1123Label(plural)) errs.push(invalid(path("spec", "names", "plural"), plural, m));
  if (names.singular !== undefined && str(names.singular) !== "") {
    for (const m of isDNS1123Label(str(names.singular))) errs.push(invalid(path("spec", "names", "singular"), names.singular, m));
  }
  const kind = str(names.kind);
  if (!kind) errs.push(required(path("spec", "names", "kind")));
  else if (!/^[A-Za-z][A-Za-z0-9]*$/.test(kind)) errs.push(invalid(path("spec", "names", "kind"), kind, "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?"));
  for (const [i, s] of (Array.isArray(names.shortNames) ? names.shortNames : []).entries()) {
    for (const m of isDNS1035Label(str(s))) errs.push(invalid(path("spec", "names", "shortNames").index(i), s, m));
  }
  if (o.metadata.name && plural && group && o.metadata.name !== `${plural}.${group}`) {
    errs.push(invalid(path("metadata", "name"), o.metadata.name, "must be spec.names.plural+\".\"+spec.group"));
  }
  if (!SCOPES.includes(spec.scope as (typeof SCOPES)[number])) errs.push(notSupported(path("spec", "scope"), spec.scope, SCOPES));
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) errs.push(required(path("spec", "versions"), "must have exactly one version marked as storage version"));
  const storage = versions.filter((v) => v && v.storage === true);
  if (versions.length > 0 && storage.length !== 1) errs.push(invalid(path("spec", "versions"), versions.map((v) => v?.name), "must have exactly one version marked as storage version"));
  const seen = new Set<string>();
  for (const [i, v] of versions.entries()) {
    const p = path("spec", "versions").index(i);
    if (!isRec(v)) {
      errs.push(invalid(p, v, "must be an object"));
      continue;
    }
    const name = str(v.name);
    if (!name) errs.push(required(p.child("name")));
    else for (const m of isDNS1035Label(name)) errs.push(invalid(p.child("name"), name, m));
    if (seen.has(name)) errs.push(invalid(p.child("name"), name, "must be unique"));
    seen.add(name);
    const schema = rec(rec(v.schema).openAPIV3Schema);
    if (!isRec(rec(v.schema).openAPIV3Schema)) errs.push(required(p.child("schema", "openAPIV3Schema"), "schemas are required"));
    else errs.push(...structuralErrors(schema, `${p}.schema.openAPIV3Schema`));
    for (const [j, c] of (Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : []).entries()) {
      const cp = p.child("additionalPrinterColumns").index(j);
      if (!str(rec(c).name)) errs.push(required(cp.child("name")));
      if (!str(rec(c).jsonPath)) errs.push(required(cp.child("jsonPath")));
    }
  }
  if (versions.length > 0 && !versions.some((v) => v?.served)) errs.push(invalid(path("spec", "versions"), versions.map((v) => v?.name), "must have at least one served version"));
  const strategy = rec(spec.conversion).strategy;
  if (strategy !== undefined && strategy !== "None") errs.push(notSupported(path("spec", "conversion", "strategy"), strategy, ["None"]));
  return errs;
}

export const crdAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(o) {
    const spec = rec(o.spec);
    const names = rec(spec.names);
    if (isRec(spec.names) && typeof names.kind === "string") {
      names.singular ||= names.kind.toLowerCase();
      names.listKind ||= `${names.kind}List`;
    }
    if (isRec(o.spec)) spec.conversion ??= { strategy: "None" };
  },
  prepareCreate(o, ctx: AdmissionContext) {
    const fin = o.metadata.finalizers ?? [];
    if (!fin.includes(CRD_CLEANUP_FINALIZER)) o.metadata.finalizers = [...fin, CRD_CLEANUP_FINALIZER];
    accept(o, ctx.now());
  },
  validate: validateCRD,
  validateUpdate(o, old) {
    const errs: Cause[] = [];
    const s = rec(o.spec);
    const os = rec(old.spec);
    if (s.group !== os.group) errs.push(forbidden(path("spec", "group"), "field is immutable"));
    if (rec(s.names).plural !== rec(os.names).plural) errs.push(forbidden(path("spec", "names", "plural"), "field is immutable"));
    if (s.scope !== os.scope) errs.push(forbidden(path("spec", "scope"), "field is immutable"));
    return errs;
  },
};

/**
 * The conditions and accepted names a valid CRD gets (it is served at once), and the storage
 * version recorded in storedVersions. Re-run on every spec write through `acceptCRD`.
 */
function accept(o: KubeObject, now: Date): void {
  const crd = o as CustomResourceDefinition;
  const spec = rec(crd.spec) as Partial<CustomResourceDefinition["spec"]>;
  const storageVersion = (Array.isArray(spec.versions) ? spec.versions : []).find((v) => v?.storage)?.name;
  const stored = new Set(crd.status?.storedVersions ?? []);
  if (storageVersion) stored.add(storageVersion);
  crd.status = {
    conditions: [
      condition("NamesAccepted", "NoConflicts", "no conflicts found", now),
      condition("Established", "InitialNamesAccepted", "the initial names have been accepted", now),
    ],
    acceptedNames: { ...(rec(spec.names) as unknown as CustomResourceDefinition["spec"]["names"]) },
    storedVersions: [...stored],
  };
}

/** An update of a CRD's spec accepts its (possibly new) names again, keeping condition times. */
export function acceptCRD(o: KubeObject, old: KubeObject | undefined, now: Date): void {
  const before = (old as CustomResourceDefinition | undefined)?.status;
  accept(o, now);
  const after = (o as CustomResourceDefinition).status!;
  after.storedVersions = [...new Set([...(before?.storedVersions ?? []), ...(after.storedVersions ?? [])])];
  for (const c of after.conditions ?? []) {
    const prev = before?.conditions?.find((p) => p.type === c.type && p.status === c.status);
    if (prev?.lastTransitionTime) c.lastTransitionTime = prev.lastTransitionTime;
  }
}
