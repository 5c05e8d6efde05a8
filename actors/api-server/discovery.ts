/**
 * Discovery documents built from the resource registry (bus/kinds.ts): `/version`, `/api`,
 * `/apis`, `/apis/<group>`, `/api/v1`, `/apis/<group>/<version>` (kube-api-surface.md §1, §3).
 */
import type { ResourceType } from "../../bus/kinds.ts";
import { API_GROUPS, REVIEW_TYPES, resourcesOfGroup } from "../../bus/kinds.ts";

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

export function apiResources(group: string, version = "v1"): APIResource[] {
  const out: APIResource[] = [];
  for (const rt of resourcesOfGroup(group, version)) {
    const r: APIResource = {
      name: rt.resource,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: [...RESOURCE_VERBS],
    };
    if (rt.shortNames.length) r.shortNames = [...rt.shortNames];
    if (rt.categories.length) r.categories = [...rt.categories];
    out.push(r);
    for (const sub of rt.subresources) out.push(subresourceEntry(rt, sub));
  }
  for (const rt of REVIEW_TYPES) {
    if (rt.group === group && rt.version === version) out.push({ name: rt.resource, singularName: rt.singular, namespaced: false, kind: rt.kind, verbs: ["create"] });
  }
  return out;
}

export function resourceList(group: string, version = "v1") {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: apiResources(group, version),
  };
}

export function coreVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(name: string) {
  const gv = { groupVersion: `${name}/v1`, version: "v1" };
  return { name, versions: [gv], preferredVersion: gv };
}

export function groupList() {
  return { kind: "APIGroupList", apiVersion: "v1", groups: API_GROUPS.map(apiGroup) };
}

export function group(name: string) {
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(name) };
}
