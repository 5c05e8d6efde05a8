/**
 * The ingress actor's pure step: from the Ingresses of its classes to a routing table, and from a
 * request's host and path to the backend that serves it (Kubernetes' Ingress matching rules).
 *
 * - Hosts: an exact host beats a wildcard (`*.example.com` matches one label only), which beats a
 *   rule without a host.
 * - Paths, within the rules of the chosen host: an `Exact` match beats any prefix; then the
 *   longest `Prefix` wins, matched element by element (`/foo` matches `/foo`, `/foo/` and
 *   `/foo/bar`, not `/foobar`). `ImplementationSpecific` is a prefix, as Traefik reads it.
 * - Nothing matched: the default backend of the oldest Ingress that has one, else none (404).
 *
 * @example
 *   const t = buildRoutes(ingresses);
 *   matchRoute(t, "foo.example.com", "/api/v1") // { namespace, service, port, ingress, ... }
 */
import type { Ingress, IngressBackend, IngressClass, ServiceBackendPort } from "../../bus/networking.ts";
import { DEFAULT_INGRESS_CLASS_ANNOTATION } from "../../bus/networking.ts";

export interface Backend {
  namespace: string;
  service: string;
  port: ServiceBackendPort;
  /** `<namespace>/<name>` of the Ingress it comes from. */
  ingress: string;
}

export interface Route {
  host?: string;
  pathType: "Exact" | "Prefix";
  /** Normalised: Prefix paths without a trailing slash (`/` stays `/`). */
  path: string;
  backend: Backend;
}

export interface TlsEntry {
  /** Undefined: the certificate for every host of its Ingress without a more specific one. */
  host?: string;
  namespace: string;
  secretName: string;
}

export interface RouteTable {
  routes: Route[];
  defaultBackend?: Backend;
  tls: TlsEntry[];
}

const created = (i: Ingress) => Date.parse(i.metadata.creationTimestamp ?? "") || 0;
const keyOf = (i: Ingress) => `${i.metadata.namespace ?? "default"}/${i.metadata.name ?? ""}`;

function backendOf(i: Ingress, b: IngressBackend | undefined): Backend | undefined {
  if (!b?.service?.name) return undefined;
  return { namespace: i.metadata.namespace ?? "default", service: b.service.name, port: b.service.port ?? {}, ingress: keyOf(i) };
}

/** `/foo/` → `/foo`; `/` and `` → `/`. */
function normalisePrefix(p: string | undefined): string {
  const s = (p ?? "").replace(/\/+$/, "");
  return s === "" ? "/" : s;
}

/**
 * Whether an Ingress is this controller's: it names one of our classes, or names none while
 * no other controller's class is the default (a cluster without IngressClasses too).
 */
export function isOurs(i: Ingress, classes: readonly IngressClass[], controller: string): boolean {
  const ours = new Set(classes.filter((c) => c.spec?.controller === controller).map((c) => c.metadata.name));
  const name = i.spec?.ingressClassName ?? i.metadata.annotations?.["kubernetes.io/ingress.class"];
  if (name) return ours.has(name);
  const defaults = classes.filter((c) => c.metadata.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === "true");
  return defaults.length === 0 || defaults.some((c) => c.spec?.controller === controller);
}

export function buildRoutes(ingresses: readonly Ingress[]): RouteTable {
  const ordered = [...ingresses].filter((i) => !i.metadata.deletionTimestamp).sort((a, b) => created(a) - created(b) || keyOf(a).localeCompare(keyOf(b)));
  const routes: Route[] = [];
  const tls: TlsEntry[] = [];
  let defaultBackend: Backend | undefined;
  for (const i of ordered) {
    defaultBackend ??= backendOf(i, i.spec?.defaultBackend);
    for (const r of i.spec?.rules ?? []) {
      const host = r.host ? r.host.toLowerCase() : undefined;
      for (const p of r.http?.paths ?? []) {
        const backend = backendOf(i, p.backend);
        if (!backend) continue;
        const exact = p.pathType === "Exact";
        routes.push({ ...(host ? { host } : {}), pathType: exact ? "Exact" : "Prefix", path: exact ? p.path ?? "/" : normalisePrefix(p.path), backend });
      }
    }
    for (const t of i.spec?.tls ?? []) {
      if (!t.secretName) continue;
      const namespace = i.metadata.namespace ?? "default";
      if (!t.hosts?.length) tls.push({ namespace, secretName: t.secretName });
      for (const h of t.hosts ?? []) tls.push({ host: h.toLowerCase(), namespace, secretName: t.secretName });
    }
  }
  return { routes, tls, ...(defaultBackend ? { defaultBackend } : {}) };
}

/** `Host` header → the host rules compare with: lower case, without a port or a trailing dot. */
export function requestHost(header: string | undefined): string {
  let h = (header ?? "").trim().toLowerCase();
  if (h.startsWith("[")) h = h.slice(0, h.indexOf("]") + 1);
  else if (h.includes(":")) h = h.slice(0, h.indexOf(":"));
  return h.replace(/\.$/, "");
}

/** 2: exact host, 1: wildcard, 0: a rule for every host; -1: no match. */
export function hostRank(ruleHost: string | undefined, host: string): number {
  if (ruleHost === undefined) return 0;
  if (ruleHost === host) return 2;
  if (ruleHost.startsWith("*.")) {
    const dot = host.indexOf(".");
    return dot > 0 && host.slice(dot + 1) === ruleHost.slice(2) ? 1 : -1;
  }
  return -1;
}

function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === "/") return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The backend for a request, or undefined (404). `path` is the URL path without the query. */
export function matchRoute(t: RouteTable, host: string, path: string): Backend | undefined {
  let best: { rank: number; exact: boolean; len: number; route: Route } | undefined;
  for (const r of t.routes) {
    const rank = hostRank(r.host, host);
    if (rank < 0) continue;
    const ok = r.pathType === "Exact" ? r.path === path : prefixMatches(r.path, path);
    if (!ok) continue;
    const cand = { rank, exact: r.pathType === "Exact", len: r.path.length, route: r };
    if (!best || cand.rank > best.rank || (cand.rank === best.rank && (Number(cand.exact) > Number(best.exact) || (cand.exact === best.exact && cand.len > best.len)))) best = cand;
  }
  return best?.route.backend ?? t.defaultBackend;
}

/** The TLS entry for an SNI name: exact host, then wildcard, then an entry without hosts. */
export function tlsFor(t: RouteTable, servername: string | undefined): TlsEntry | undefined {
  const name = (servername ?? "").toLowerCase();
  return t.tls.find((e) => e.host === name) ?? t.tls.find((e) => e.host !== undefined && hostRank(e.host, name) === 1) ?? t.tls.find((e) => e.host === undefined);
}
