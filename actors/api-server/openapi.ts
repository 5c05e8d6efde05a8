/**
 * OpenAPI v3: the `/openapi/v3` index and one document per group/version (kube-api-surface.md §4).
 * Every kind gets a path whose `patch` operation carries `x-kubernetes-group-version-kind` and a
 * `fieldValidation` parameter of its own, so kubectl validates server-side. The component schemas
 * carry the strategic-merge extensions for lists; PATCH operations declare no request body, so
 * kubectl computes strategic merge patches from its built-in types (which match these schemas).
 */
import type { ResourceType } from "../../bus/kinds.ts";
import { createHash } from "node:crypto";
import type { ResourceCatalog } from "../../bus/catalog.ts";
import { STATIC_CATALOG } from "../../bus/catalog.ts";
import { schemasFor, schemaName } from "./openapi-schemas.ts";

type Json = Record<string, unknown>;

const str = { type: "string" };
const q = (name: string, type = "string") => ({ name, in: "query", schema: { type }, uniqueItems: true });
const pathParam = (name: string) => ({ name, in: "path", required: true, schema: str, uniqueItems: true });
const ok = (rt: ResourceType) => ({
  description: "OK",
  content: { "application/json": { schema: { $ref: `#/components/schemas/${schemaName(rt)}` } } },
});

function gvk(rt: ResourceType) {
  return { group: rt.group, version: rt.version, kind: rt.kind };
}

function op(rt: ResourceType, action: string, verbName: string, params: Json[], code = "200"): Json {
  return {
    operationId: `${verbName}${rt.namespaced ? "Namespaced" : ""}${rt.kind}`,
    tags: [rt.group ? `${rt.group.split(".")[0]}_${rt.version}` : `core_${rt.version}`],
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk(rt),
    parameters: params,
    responses: { [code]: ok(rt) },
  };
}

function resourcePaths(rt: ResourceType): Record<string, Json> {
  const base = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  const coll = rt.namespaced ? `${base}/namespaces/{namespace}/${rt.resource}` : `${base}/${rt.resource}`;
  const nsParams = rt.namespaced ? [pathParam("namespace")] : [];
  const write = [q("dryRun"), q("fieldManager"), q("fieldValidation")];
  const paths: Record<string, Json> = {
    [coll]: {
      parameters: [...nsParams, q("pretty")],
      get: op(rt, "list", "list", [q("labelSelector"), q("fieldSelector"), q("limit", "integer"), q("continue"), q("resourceVersion"), q("watch", "boolean"), q("timeoutSeconds", "integer"), q("allowWatchBookmarks", "boolean")]),
      post: op(rt, "post", "create", write, "201"),
      delete: op(rt, "deletecollection", "deleteCollection", [q("labelSelector"), q("fieldSelector"), q("gracePeriodSeconds", "integer"), q("propagationPolicy")]),
    },
    [`${coll}/{name}`]: {
      parameters: [pathParam("name"), ...nsParams, q("pretty")],
      get: op(rt, "get", "read", []),
      put: op(rt, "put", "replace", write),
      patch: op(rt, "patch", "patch", [...write, q("force", "boolean")]),
      delete: op(rt, "delete", "delete", [q("dryRun"), q("gracePeriodSeconds", "integer"), q("propagationPolicy")]),
    },
  };
  if (rt.subresources.includes("status")) {
    paths[`${coll}/{name}/status`] = {
      parameters: [pathParam("name"), ...nsParams],
      get: op(rt, "get", "read", []),
      put: op(rt, "put", "replace", write),
      patch: op(rt, "patch", "patch", [...write, q("force", "boolean")]),
    };
  }
  return paths;
}

export function openapiDocument(group: string, version = "v1", catalog: ResourceCatalog = STATIC_CATALOG): Json {
  const rts = catalog.resourcesOf(group, version);
  const paths: Record<string, Json> = {};
  for (const rt of rts) Object.assign(paths, resourcePaths(rt));
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas: schemasFor(rts) },
  };
}

function gvPath(group: string, version = "v1"): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** Document hashes by group/version; a custom group's change with the catalog's generation. */
const hashes = new Map<string, string>();
function hashOf(group: string, version: string, catalog: ResourceCatalog): string {
  const custom = catalog.resourcesOf(group, version).some((r) => r.custom);
  const id = custom ? `${group}/${version}@${catalog.generation}` : `${group}/${version}`;
  let h = custom ? undefined : hashes.get(id);
  if (!h) {
    h = createHash("sha512").update(JSON.stringify(openapiDocument(group, version, catalog))).digest("hex").slice(0, 32).toUpperCase();
    if (!custom) hashes.set(id, h);
  }
  return h;
}

export function openapiIndex(catalog: ResourceCatalog = STATIC_CATALOG): Json {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const gvs = [{ group: "", versions: ["v1"] }, ...catalog.groups()];
  for (const g of gvs) {
    for (const v of g.versions) {
      const p = gvPath(g.group, v);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(g.group, v, catalog)}` };
    }
  }
  return { paths };
}
