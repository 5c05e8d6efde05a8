/**
 * The request dispatcher: route → authenticate → authorize → handler, with every error answered
 * as a Kubernetes Status (status.ts). No secrets and no bodies are logged.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NatsConnection } from "@nats-io/transport-node";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { User } from "./auth.ts";
import type { ResourceRoute } from "./routes.ts";
import type { WatchCache } from "./watch-cache.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { pingActors } from "../../runtime/host.ts";
import { parseRoute } from "./routes.ts";
import { authenticate, authorize, allowed } from "./auth.ts";
import { sendJson, sendError } from "./http.ts";
import { VERSION_INFO, coreVersions, groupList, group, resourceList } from "./discovery.ts";
import { openapiIndex, openapiDocument } from "./openapi.ts";
import { handleGet, handleList, handleCreate, handleUpdate, handlePatch, handleDelete, handleDeleteCollection } from "./handlers.ts";
import { handleWatch } from "./watch.ts";
import { handleLogs } from "./logs.ts";
import { serveUi } from "./ui.ts";
import { whoami } from "./whoami.ts";

export interface ServerDeps {
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
}

async function handleResource(deps: ServerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  if (route.subresource === "log") return handleLogs(deps, req, res, route, q);
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

export function createHandler(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? "/", "https://api-server");
    const q = url.searchParams;
    const route = parseRoute(req.method ?? "GET", url.pathname, q);
    let user: User | undefined;
    const done = (code: number) =>
      deps.log.debug("request", { method: req.method, path: url.pathname, code, user: user?.name, ms: Date.now() - started });
    const run = async (): Promise<void> => {
      switch (route.type) {
        case "version":
          return sendJson(res, 200, VERSION_INFO);
        case "health":
          return void (res.writeHead(200, { "Content-Type": "text/plain" }), res.end("ok"));
        case "ui":
          return serveUi(res, route.path);
        default:
      }
      user = authenticate(deps.users(), req.headers.authorization);
      switch (route.type) {
        case "core-versions":
          return sendJson(res, 200, coreVersions(deps.address()));
        case "groups":
          return sendJson(res, 200, groupList());
        case "group":
          return sendJson(res, 200, group(route.group));
        case "group-version":
          return sendJson(res, 200, resourceList(route.group, route.version));
        case "openapi-index":
          return sendJson(res, 200, openapiIndex());
        case "openapi-gv":
          return sendJson(res, 200, openapiDocument(route.group, route.version));
        case "actors":
          if (!allowed(user, "list")) throw new FlotillaError(ErrorCode.Forbidden, `User "${user.name}" cannot list actors`);
          return sendJson(res, 200, { items: await pingActors(deps.nc, deps.cluster) });
        case "whoami":
          return sendJson(res, 200, whoami(user));
        case "resource":
          authorize(user, route);
          return handleResource(deps, req, res, route, q);
        case "not-found":
          throw new FlotillaError(ErrorCode.NotFound, "the server could not find the requested resource");
        case "method-not-allowed":
          throw new FlotillaError(ErrorCode.MethodNotAllowed, `the server does not allow this method on the requested resource`);
      }
    };
    run().then(
      () => done(res.statusCode),
      (e: unknown) => {
        const ctx = route.type === "resource" ? { rt: route.rt, name: route.name } : {};
        if (!(e instanceof FlotillaError)) deps.log.error("request failed", { method: req.method, path: url.pathname, error: String(e) });
        if (res.headersSent) {
          res.end();
          return done(res.statusCode);
        }
        done(sendError(res, e, ctx));
      },
    );
  };
}
