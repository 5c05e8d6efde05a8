/**
 * URL → what the request is about. Pure: no I/O. The path is the raw one from the request line:
 * each segment is unescaped strictly, and a bad escape, a NUL byte or a `.`/`..` segment is a 400
 * (thrown as a BadRequest FlotillaError), never a normalised path to somewhere else.
 *
 * @example
 *   parseRoute("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale", new URLSearchParams())
 *   // { type: "resource", rt: <deployments>, namespace: "default", name: "web", subresource: "scale", verb: "get" }
 */
import type { ResourceType } from "../../bus/kinds.ts";
import { REVIEW_TYPES, isReview, isMetrics } from "../../bus/kinds.ts";
import type { ResourceCatalog } from "../../bus/catalog.ts";
import { STATIC_CATALOG } from "../../bus/catalog.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { kubeBool, strictUnescape } from "./query.ts";

export const Verb = {
  get: "get",
  list: "list",
  watch: "watch",
  create: "create",
  update: "update",
  patch: "patch",
  delete: "delete",
  deletecollection: "deletecollection",
} as const;
export type Verb = (typeof Verb)[keyof typeof Verb];

export const READ_VERBS: readonly Verb[] = [Verb.get, Verb.list, Verb.watch];

export interface ResourceRoute {
  type: "resource";
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  verb: Verb;
}

export type Route =
  | { type: "version" }
  | { type: "health"; check: "healthz" | "livez" | "readyz" }
  | { type: "core-versions" }
  | { type: "groups" }
  | { type: "group"; group: string }
  | { type: "group-version"; group: string; version: string }
  | { type: "openapi-index" }
  | { type: "openapi-gv"; group: string; version: string }
  | { type: "actors" }
  | { type: "whoami" }
  | { type: "ui"; path: string }
  | ResourceRoute
  | { type: "not-found"; reason: string }
  | { type: "method-not-allowed"; method: string };

const isWatch = (q: URLSearchParams) => kubeBool(q, "watch") === true;

const badRequest = (msg: string) => new FlotillaError(ErrorCode.BadRequest, msg);

/** The raw path's segments, unescaped; throws BadRequest for what no path may hold. */
export function pathSegments(rawPath: string): string[] {
  return rawPath
    .split("/")
    .filter((s) => s !== "")
    .map((raw) => {
      const seg = strictUnescape(raw, `path segment ${JSON.stringify(raw)}`);
      if (seg === "." || seg === "..") throw badRequest(`path segment ${JSON.stringify(raw)}: may not be '${seg}'`);
      if (seg.includes("\0")) throw badRequest(`path segment ${JSON.stringify(raw)}: may not contain a NUL byte`);
      return seg;
    });
}

/** Kubernetes' `IsValidPathSegmentName` for a namespace or a name taken from the path. */
function checkName(what: "namespace" | "name", value: string): void {
  for (const bad of ["/", "%"]) {
    if (value.includes(bad)) throw badRequest(`${what}: Invalid value: ${JSON.stringify(value)}: may not contain '${bad}'`);
  }
}

/** The group/version a path prefix names, or undefined for an unknown one. */
function groupVersion(segs: string[], catalog: ResourceCatalog): { group: string; version: string; rest: string[] } | undefined {
  if (segs[0] === "api" && segs[1] === "v1") return { group: "", version: "v1", rest: segs.slice(2) };
  if (segs[0] === "apis" && segs.length >= 3 && catalog.hasGroupVersion(segs[1]!, segs[2]!)) {
    return { group: segs[1]!, version: segs[2]!, rest: segs.slice(3) };
  }
  return undefined;
}

/** Subresources served only over an upgraded connection (exec.ts, portforward.ts). */
export const STREAM_SUBRESOURCES = ["exec", "attach", "portforward"];

function verbFor(method: string, hasName: boolean, subresource: string | undefined, watch: boolean): Verb | undefined {
  switch (method) {
    case "GET":
      // binding, eviction and token are create-only (405 for anything else, as in Kubernetes).
      if (subresource === "binding" || subresource === "eviction" || subresource === "token") return undefined;
      if (watch) return Verb.watch;
      return hasName ? Verb.get : Verb.list;
    case "POST":
      if (!hasName) return Verb.create;
      return subresource && ["binding", "eviction", "token", ...STREAM_SUBRESOURCES].includes(subresource) ? Verb.create : undefined;
    case "PUT":
      return hasName && subresource !== "token" ? Verb.update : undefined;
    case "PATCH":
      return hasName && subresource !== "token" ? Verb.patch : undefined;
    case "DELETE":
      return hasName ? (subresource ? undefined : Verb.delete) : Verb.deletecollection;
    default:
      return undefined;
  }
}

function resourceRoute(method: string, group: string, version: string, rest: string[], q: URLSearchParams, catalog: ResourceCatalog): Route {
  let watch = isWatch(q);
  if (rest[0] === "watch") {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // `/namespaces/<ns>/<resource>…` is namespaced; `/namespaces[/<name>[/status]]` is the Namespace itself.
  const namespaceItself = group === "" && rest.length === 3 && rest[2] === "status";
  if (rest[0] === "namespaces" && rest.length >= 3 && !namespaceItself) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource || extra.length > 0) return { type: "not-found", reason: "unknown path" };
  if (namespace !== undefined) checkName("namespace", namespace);
  if (name !== undefined) checkName("name", name);
  const rt: ResourceType | undefined = catalog.find(group, version, resource);
  if (!rt) return { type: "not-found", reason: `the server could not find the requested resource` };
  if (namespace !== undefined && !rt.namespaced) return { type: "not-found", reason: `${rt.resource} is not namespaced` };
  if (subresource !== undefined && !rt.subresources.includes(subresource)) {
    return { type: "not-found", reason: `the server could not find the requested resource` };
  }
  if (subresource !== undefined && watch) return { type: "method-not-allowed", method };
  const verb = verbFor(method, name !== undefined, subresource, watch);
  if (!verb || (isReview(rt) && (verb !== Verb.create || name !== undefined))) return { type: "method-not-allowed", method };
  if (isMetrics(rt) && verb !== Verb.get && verb !== Verb.list) return { type: "method-not-allowed", method };
  const route: ResourceRoute = { type: "resource", rt, verb };
  if (namespace !== undefined) route.namespace = namespace;
  if (name !== undefined) route.name = name;
  if (subresource !== undefined) route.subresource = subresource;
  return route;
}

/** `catalog`: the types served (the static registry plus established CRDs). */
export function parseRoute(method: string, rawPath: string, query: URLSearchParams, catalog: ResourceCatalog = STATIC_CATALOG): Route {
  const segs = pathSegments(rawPath);
  const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, "") : rawPath;
  if (path === "/ui" || path.startsWith("/ui/")) return { type: "ui", path: path.slice(3) || "/" };
  const readOnly = method === "GET" || method === "HEAD";
  const simple = (r: Route): Route => (readOnly ? r : { type: "method-not-allowed", method });
  if (path === "/version") return simple({ type: "version" });
  if (path === "/healthz" || path === "/livez" || path === "/readyz") {
    return simple({ type: "health", check: path.slice(1) as "healthz" | "livez" | "readyz" });
  }
  if (path === "/api") return simple({ type: "core-versions" });
  if (path === "/apis") return simple({ type: "groups" });
  if (path === "/openapi/v3") return simple({ type: "openapi-index" });
  if (path === "/flotilla/v1/actors") return simple({ type: "actors" });
  if (path === "/flotilla/v1/whoami") return simple({ type: "whoami" });
  if (segs[0] === "openapi" && segs[1] === "v3") {
    const gv = groupVersion(segs.slice(2), catalog);
    if (gv && gv.rest.length === 0) return simple({ type: "openapi-gv", group: gv.group, version: gv.version });
    return { type: "not-found", reason: "unknown OpenAPI document" };
  }
  if (segs[0] === "apis" && segs.length === 2 && catalog.groups().some((g) => g.group === segs[1])) return simple({ type: "group", group: segs[1]! });
  const gv = groupVersion(segs, catalog);
  if (!gv) return { type: "not-found", reason: "the server could not find the requested resource" };
  if (gv.rest.length === 0) return simple({ type: "group-version", group: gv.group, version: gv.version });
  return resourceRoute(method, gv.group, gv.version, gv.rest, query, catalog);
}
