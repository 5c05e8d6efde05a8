/**
 * The request dispatcher and its one error boundary: target → route → authenticate → authorize →
 * handler, with limits on the way (URL length, request timeout, watches per user). Whatever is
 * thrown anywhere in that chain, synchronously or not, is answered as a Kubernetes Status
 * (status.ts) and the process goes on; only errors that are not FlotillaErrors (real faults) are
 * logged as errors. No secrets and no bodies are logged.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NatsConnection } from "@nats-io/transport-node";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { User } from "./auth.ts";
import type { ResourceRoute, Route } from "./routes.ts";
import type { WatchCache } from "./watch-cache.ts";
import type { ErrorContext } from "./status.ts";
import type { HttpLimits } from "./limits.ts";
import type { ResourceCatalog } from "../../bus/catalog.ts";
import { STATIC_CATALOG } from "../../bus/catalog.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { pingActors } from "../../runtime/host.ts";
import { parseRoute, STREAM_SUBRESOURCES } from "./routes.ts";
import type { TLSSocket } from "node:tls";
import { authenticate, authorize, authorizePath, userFromCertificate, withAuthenticated } from "./auth.ts";
import type { RbacView } from "./rbac/authorizer.ts";
import { cacheView } from "./rbac/cache-view.ts";
import { guardedStore } from "./rbac/guard.ts";
import { RBAC_GROUP, isReview, isMetrics, isHpaV1 } from "../../bus/kinds.ts";
import { handleHpaV1 } from "./autoscaling-v1.ts";
import type { MetricsSource } from "../../runtime/metrics-feed.ts";
import { handleMetrics } from "./metrics.ts";
import { review, tokenReview } from "./reviews.ts";
import type { SigningKeys } from "./token-request.ts";
import { handleTokenRequest, serviceAccountAuthenticator } from "./token-request.ts";
import { objectForRoute } from "./handlers.ts";
import { readBody, parseBody } from "./http.ts";
import { sendJson, sendError, sendStatus } from "./http.ts";
import { httpStatus } from "./status.ts";
import { parseQuery, splitTarget, timeoutParam } from "./query.ts";
import { httpLimits, isLongRunning } from "./limits.ts";
import { VERSION_INFO, coreVersions, groupList, group, resourceList, wantsAggregated, aggregatedDiscovery, AGGREGATED_CONTENT_TYPE } from "./discovery.ts";
import { openapiIndex, openapiDocument } from "./openapi.ts";
import { handleGet, handleList, handleCreate, handleUpdate, handlePatch, handleDelete, handleDeleteCollection } from "./handlers.ts";
import { handleWatch } from "./watch.ts";
import { handleLogs } from "./logs.ts";
import { serveUi } from "./ui.ts";
import { whoami } from "./whoami.ts";
import type { AuditLog, AuditRequest } from "./audit.ts";

export interface ServerDeps {
  /** Where each request is recorded (audit.ts); none: no audit log. */
  audit?: AuditLog;
  nc: NatsConnection;
  cluster: string;
  store: StoreClient;
  log: Logger;
  now: () => number;
  /** token → user; re-read by the caller when the file changes. */
  users: () => Map<string, User>;
  cacheFor: (resource: string) => WatchCache | undefined;
  /** `host:port` this server is reached at (for /api's serverAddressByClientCIDRs). */
  address: () => string;
  /** Default: `httpLimits()` (kube-apiserver's defaults). */
  limits?: HttpLimits;
  /** What RBAC decisions read; default: the watch caches of the four RBAC kinds. */
  rbac?: RbacView;
  /** The key ServiceAccount tokens are signed and checked with; without it TokenRequest answers 404. */
  serviceAccountKeys?: SigningKeys;
  /** The types served; default the static registry (no custom resources). */
  catalog?: ResourceCatalog;
  /** The kubelets' usage reports, for metrics.k8s.io (none: every metrics object is not found). */
  metrics?: MetricsSource;
}

type Deps = ServerDeps & { limits: HttpLimits; rbac: RbacView; tokens?: (token: string) => User | undefined };

async function handleResource(deps: ServerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  if (route.subresource === "log") return handleLogs(deps, req, res, route, q);
  if (route.subresource && STREAM_SUBRESOURCES.includes(route.subresource)) {
    throw new FlotillaError(ErrorCode.BadRequest, `Upgrade request required: ${route.subresource} is served over a WebSocket (${"v5.channel.k8s.io"})`);
  }
  switch (route.verb) {
    case "get":
      return handleGet(deps, req, res, route, q);
    case "list":
      return handleList(deps, req, res, route, q);
    case "watch":
      return handleWatch(deps, req, res, route, q);
    case "create":
      return handleCreate(deps, req, res, route, q);
    case "update":
      return handleUpdate(deps, req, res, route, q);
    case "patch":
      return handlePatch(deps, req, res, route, q);
    case "delete":
      return handleDelete(deps, req, res, route, q);
    case "deletecollection":
      return handleDeleteCollection(deps, req, res, route, q);
  }
}

/** What one request is about, filled in as the dispatcher learns it (for errors and the log). */
interface Exchange {
  path: string;
  route?: Route;
  user?: User;
}

/**
 * Non-watch, non-log requests get a deadline: the server's request timeout, or a shorter
 * `?timeout=` (kube-apiserver's WithRequestDeadline + WithTimeoutForNonLongRunningRequests).
 */
function startDeadline(deps: Deps, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void {
  const asked = timeoutParam(q);
  const ms = asked !== undefined && asked > 0 ? Math.min(asked, deps.limits.requestTimeoutMs) : deps.limits.requestTimeoutMs;
  const timer = setTimeout(() => {
    deps.log.warn("request timed out", { method: req.method, ms });
    if (res.headersSent) return void res.destroy();
    sendError(res, new FlotillaError(ErrorCode.Timeout, "request did not complete within the allotted timeout"));
  }, ms);
  timer.unref();
  res.once("close", () => clearTimeout(timer));
  res.once("finish", () => clearTimeout(timer));
}

async function dispatch(deps: Deps, req: IncomingMessage, res: ServerResponse, x: Exchange): Promise<void> {
  const target = req.url ?? "/";
  if (Buffer.byteLength(target) > deps.limits.maxUrlBytes) {
    x.path = `${target.slice(0, 64)}…`;
    return sendStatus(res, httpStatus(414, `the request URI is too long: ${Buffer.byteLength(target)} bytes, the limit is ${deps.limits.maxUrlBytes}`));
  }
  const { path, query } = splitTarget(target);
  x.path = path;
  const q = parseQuery(query);
  const catalog = deps.catalog ?? STATIC_CATALOG;
  const route = parseRoute(req.method ?? "GET", path, q, catalog);
  x.route = route;
  if (!isLongRunning(route)) startDeadline(deps, req, res, q);
  switch (route.type) {
    case "version":
      return sendJson(res, 200, VERSION_INFO);
    case "health":
      return void (res.writeHead(200, { "Content-Type": "text/plain" }), res.end("ok"));
    case "ui":
      return serveUi(res, route.path);
    default:
  }
  // A bearer token wins; without one, a client certificate the cluster CA signed (checked by TLS).
  const tls = req.socket as TLSSocket;
  const certUser = !req.headers.authorization && tls.authorized ? userFromCertificate(tls.getPeerCertificate()?.subject) : undefined;
  const user = certUser ?? authenticate(deps.users(), req.headers.authorization, deps.tokens);
  x.user = user;
  if (route.type !== "resource" && route.type !== "not-found" && route.type !== "method-not-allowed") authorizePath(deps.rbac, user, path);
  switch (route.type) {
    case "core-versions":
      if (wantsAggregated(req.headers.accept)) return sendAggregated(res, aggregatedDiscovery(true, catalog));
      return sendJson(res, 200, coreVersions(deps.address()));
    case "groups":
      if (wantsAggregated(req.headers.accept)) return sendAggregated(res, aggregatedDiscovery(false, catalog));
      return sendJson(res, 200, groupList(catalog));
    case "group":
      return sendJson(res, 200, group(route.group, catalog));
    case "group-version":
      return sendJson(res, 200, resourceList(route.group, route.version, catalog));
    case "openapi-index":
      return sendJson(res, 200, openapiIndex(catalog));
    case "openapi-gv":
      return sendJson(res, 200, openapiDocument(route.group, route.version, catalog));
    case "actors":
      return sendJson(res, 200, { items: await pingActors(deps.nc, deps.cluster) });
    case "whoami":
      return sendJson(res, 200, whoami(deps.rbac, user));
    case "resource":
      authorize(deps.rbac, user, route);
      if (route.verb === "watch") {
        const release = deps.limits.watches.acquire(user.name);
        res.once("close", release);
      }
      if (route.subresource === "token") {
        if (!deps.serviceAccountKeys) throw new FlotillaError(ErrorCode.NotFound, "the server could not find the requested resource");
        return handleTokenRequest({ store: deps.store, now: deps.now, keys: deps.serviceAccountKeys }, req, res, route);
      }
      if (route.rt.kind === "TokenReview") {
        const body = objectForRoute(route, parseBody(await readBody(req), req.headers["content-type"]));
        return sendJson(res, 201, tokenReview(body, (t) => {
          const u = deps.users().get(t) ?? deps.tokens?.(t);
          return u ? withAuthenticated(u) : undefined;
        }));
      }
      if (isMetrics(route.rt)) return handleMetrics(deps, res, route, q);
      if (isHpaV1(route.rt)) return handleHpaV1(deps, req, res, route, q);
      if (isReview(route.rt)) {
        const body = objectForRoute(route, parseBody(await readBody(req), req.headers["content-type"]));
        return sendJson(res, 201, review(route.rt.kind, body, deps.rbac, user));
      }
      // Writes of Roles and bindings may not grant more than the writer holds.
      if (route.rt.group === RBAC_GROUP) return handleResource({ ...deps, store: guardedStore(deps.store, deps.rbac, user) }, req, res, route, q);
      return handleResource(deps, req, res, route, q);
    case "not-found":
      throw new FlotillaError(ErrorCode.NotFound, "the server could not find the requested resource");
    case "method-not-allowed":
      throw new FlotillaError(ErrorCode.MethodNotAllowed, `the server does not allow this method on the requested resource`);
  }
}

/** What the audit log records of an exchange: never a body, never a header but the user agent. */
function auditRequestOf(req: IncomingMessage, res: ServerResponse, x: Exchange, started: number): AuditRequest {
  const r = x.route;
  const objectRef = r?.type === "resource"
    ? { resource: r.rt.resource, ...(r.namespace !== undefined ? { namespace: r.namespace } : {}), ...(r.name !== undefined ? { name: r.name } : {}), ...(r.rt.group ? { apiGroup: r.rt.group } : {}), apiVersion: r.rt.version, ...(r.subresource ? { subresource: r.subresource } : {}) }
    : undefined;
  return {
    ...(x.user ? { user: { name: x.user.name, groups: x.user.groups } } : {}),
    verb: r?.type === "resource" ? r.verb : (req.method ?? "GET").toLowerCase(),
    requestURI: req.url ?? x.path,
    ...(req.socket.remoteAddress ? { sourceIP: req.socket.remoteAddress } : {}),
    ...(typeof req.headers["user-agent"] === "string" ? { userAgent: req.headers["user-agent"] } : {}),
    ...(objectRef ? { objectRef } : {}),
    code: res.statusCode,
    receivedAt: new Date(started),
    completedAt: new Date(),
  };
}

/** Aggregated discovery must carry its own Content-Type, or kubectl reads nothing from it. */
function sendAggregated(res: ServerResponse, body: unknown): void {
  sendJson(res, 200, body, { "Content-Type": AGGREGATED_CONTENT_TYPE, Vary: "Accept" });
}

export function createHandler(given: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const deps: Deps = {
    ...given,
    limits: given.limits ?? httpLimits(),
    rbac: given.rbac ?? cacheView(given.cacheFor),
    ...(given.serviceAccountKeys ? { tokens: serviceAccountAuthenticator(given.serviceAccountKeys, given.cacheFor, given.now) } : {}),
  };
  return (req, res) => {
    const started = Date.now();
    const x: Exchange = { path: "?" };
    // A client that goes away mid-request must never surface as an unhandled 'error' event.
    req.on("error", () => undefined);
    res.on("error", () => undefined);
    const done = () => {
      deps.log.debug("request", { method: req.method, path: x.path, code: res.statusCode, user: x.user?.name, ms: Date.now() - started });
      deps.audit?.record(auditRequestOf(req, res, x, started));
    };
    const fail = (e: unknown) => {
      if (!(e instanceof FlotillaError)) {
        deps.log.error("request failed", { method: req.method, path: x.path, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
      if (res.headersSent) {
        // Mid-stream: the client must see a broken stream, not a complete one.
        if (!res.writableEnded) res.destroy();
        return done();
      }
      const route = x.route;
      const ctx: ErrorContext = route?.type === "resource" ? { rt: route.rt, name: route.name } : {};
      sendError(res, e, ctx);
      done();
    };
    dispatch(deps, req, res, x)
      .then(done, fail)
      .catch((e: unknown) => {
        deps.log.error("answering a failed request failed", { path: x.path, error: String(e) });
        res.destroy();
      });
  };
}
