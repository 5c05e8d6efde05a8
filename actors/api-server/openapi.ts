/**
 * OpenAPI v3: the `/openapi/v3` index and one document per group/version (kube-api-surface.md §4).
 * Every kind gets a path whose `patch` operation carries `x-kubernetes-group-version-kind` and a
 * `fieldValidation` parameter of its own, so kubectl validates server-side. The component schemas
 * carry the strategic-merge extensions for lists; PATCH operations declare no request body, so
 * kubectl computes strategic merge patches from its built-in types (which match these schemas).
 */
import type { ResourceType } from "../../bus/kinds.ts";
import { createHash } from "node:crypto";
import { API_GROUPS, resourcesOfGroup } from "../../bus/kinds.ts";
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

export function openapiDocument(group: string, version = "v1"): Json {
  const rts = resourcesOfGroup(group, version);
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

const hashes = new Map<string, string>();
function hashOf(group: string): string {
  let h = hashes.get(group);
  if (!h) {
    h = createHash("sha512").update(JSON.stringify(openapiDocument(group))).digest("hex").slice(0, 32).toUpperCase();
    hashes.set(group, h);
  }
  return h;
}

export function openapiIndex(): Json {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of ["", ...API_GROUPS]) {
    const p = gvPath(g);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(g)}` };
  }
  return { paths };
}
