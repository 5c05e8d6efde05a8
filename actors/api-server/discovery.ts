/**
 * Discovery documents built from the resource registry (bus/kinds.ts): `/version`, `/api`,
 * `/apis`, `/apis/<group>`, `/api/v1`, `/apis/<group>/<version>` (kube-api-surface.md §1, §3).
 */
import type { ResourceType } from "../../bus/kinds.ts";
import { isReview, isMetrics } from "../../bus/kinds.ts";
import type { ResourceCatalog } from "../../bus/catalog.ts";
import { STATIC_CATALOG } from "../../bus/catalog.ts";

export const VERSION_INFO = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-flotilla",
  gitCommit: "",
  gitTreeState: "clean",
  buildDate: "2025-01-01T00:00:00Z",
  goVersion: "go1.23",
  compiler: "gc",
  platform: "linux/amd64",
} as const;

export const RESOURCE_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] as const;

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

/** What each subresource answers with, and which verbs it takes. */
function subresourceEntry(rt: ResourceType, sub: string): APIResource {
  const base = { name: `${rt.resource}/${sub}`, singularName: "", namespaced: rt.namespaced };
  switch (sub) {
    case "status":
      return { ...base, kind: rt.kind, verbs: ["get", "patch", "update"] };
    case "scale":
      return { ...base, group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"] };
    case "log":
      return { ...base, kind: rt.kind, verbs: ["get"] };
    case "binding":
      return { ...base, kind: "Binding", verbs: ["create"] };
    case "exec":
      return { ...base, kind: "PodExecOptions", verbs: ["create", "get"] };
    case "attach":
      return { ...base, kind: "PodAttachOptions", verbs: ["create", "get"] };
    case "portforward":
      return { ...base, kind: "PodPortForwardOptions", verbs: ["create", "get"] };
    case "token":
      return { ...base, group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", verbs: ["create"] };
    case "eviction":
      return { ...base, group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] };
    default:
      return { ...base, kind: rt.kind, verbs: ["get"] };
  }
}

/** Custom types being deleted are still served, but no longer discovered. */
const discovered = (catalog: ResourceCatalog, group: string, version: string) => catalog.resourcesOf(group, version).filter((r) => !r.custom?.terminating);

export function apiResources(group: string, version = "v1", catalog: ResourceCatalog = STATIC_CATALOG): APIResource[] {
  const out: APIResource[] = [];
  for (const rt of discovered(catalog, group, version)) {
    if (isReview(rt)) {
      out.push({ name: rt.resource, singularName: rt.singular, namespaced: false, kind: rt.kind, verbs: ["create"] });
      continue;
    }
    const r: APIResource = {
      name: rt.resource,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: isMetrics(rt) ? ["get", "list"] : [...RESOURCE_VERBS],
    };
    if (rt.shortNames.length) r.shortNames = [...rt.shortNames];
    if (rt.categories.length) r.categories = [...rt.categories];
    out.push(r);
    for (const sub of rt.subresources) out.push(subresourceEntry(rt, sub));
  }
  return out;
}

export function resourceList(group: string, version = "v1", catalog: ResourceCatalog = STATIC_CATALOG) {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: apiResources(group, version, catalog),
  };
}

export function coreVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]) {
  const gvs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: gvs, preferredVersion: gvs[0]! };
}

export function groupList(catalog: ResourceCatalog = STATIC_CATALOG) {
  return { kind: "APIGroupList", apiVersion: "v1", groups: catalog.groups().map((g) => apiGroup(g.group, g.versions)) };
}

export function group(name: string, catalog: ResourceCatalog = STATIC_CATALOG) {
  const g = catalog.groups().find((x) => x.group === name);
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(name, g?.versions ?? ["v1"]) };
}

// ---------- aggregated discovery (apidiscovery.k8s.io/v2) ----------

/** The Content-Type kubectl requires on an aggregated answer (with plain JSON it finds nothing). */
export const AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/** Whether an Accept header asks for aggregated discovery (v2; v2beta1 is answered as v2 is not). */
export function wantsAggregated(accept: string | undefined): boolean {
  return !!accept && accept.split(",").some((p) => /g=apidiscovery\.k8s\.io/.test(p) && /v=v2(\s*;|$)/.test(p) && /as=APIGroupDiscoveryList/.test(p));
}

function discoveryVersion(group: string, version: string, catalog: ResourceCatalog) {
  const resources = discovered(catalog, group, version).map((rt) => {
    const r: Record<string, unknown> = {
      resource: rt.resource,
      responseKind: { group: rt.group, version: rt.version, kind: rt.kind },
      scope: rt.namespaced ? "Namespaced" : "Cluster",
      singularResource: rt.singular,
      verbs: isReview(rt) ? ["create"] : isMetrics(rt) ? ["get", "list"] : [...RESOURCE_VERBS],
    };
    if (rt.shortNames.length) r.shortNames = [...rt.shortNames];
    if (rt.categories.length) r.categories = [...rt.categories];
    if (rt.subresources.length) {
      r.subresources = rt.subresources.map((sub) => {
        const e = subresourceEntry(rt, sub);
        return { subresource: sub, responseKind: { group: e.group ?? rt.group, version: e.version ?? rt.version, kind: e.kind }, verbs: e.verbs };
      });
    }
    return r;
  });
  return { version, freshness: "Current", resources };
}

/** `/api` (core) or `/apis` (every named group) as one APIGroupDiscoveryList. */
export function aggregatedDiscovery(core: boolean, catalog: ResourceCatalog = STATIC_CATALOG) {
  const groups = core ? [{ group: "", versions: ["v1"] }] : catalog.groups();
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items: groups.map((g) => ({ metadata: { name: g.group }, versions: g.versions.map((v) => discoveryVersion(g.group, v, catalog)) })),
  };
}
