/**
 * The HTTP side of watch: newline-delimited `{"type","object"}` over a chunked response, fed by the
 * resource's WatchCache (kube-api-surface.md §7). Bookmarks (when allowed) or a blank line every
 * ~15 s keep idle streams alive; a too-old resourceVersion gets one ERROR event and the stream
 * ends; a client that stops reading is cut off once its buffer passes a bound, so it never stalls
 * the others.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceRoute } from "./routes.ts";
import type { WatchCache, WatchEventType } from "./watch-cache.ts";
import type { KubeObject } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import { apiVersionOf } from "../../bus/kinds.ts";
import { ErrorCode, FlotillaError, isCode } from "../../bus/errors.ts";
import { wantsTable } from "./http.ts";
import { statusFromError, encodeJson } from "./status.ts";
import { listOptions } from "./list-options.ts";
import { includeObjectOf } from "./handlers.ts";
import { toTable } from "./tables.ts";
import { asVersion } from "../../bus/crd.ts";

export const KEEPALIVE_MS = 15_000;
/** Bytes a watcher may have queued before its stream is closed. */
export const MAX_WATCHER_BUFFER = 4 * 1024 * 1024;
/** Without timeoutSeconds a stream lives 30–60 min, like kube-apiserver's. */
const DEFAULT_TIMEOUT_MS = () => (30 + Math.random() * 30) * 60_000;
const SYNC_WAIT_MS = 10_000;
/** setTimeout's largest delay (a longer one fires at once); ~24.8 days is forever for a watch. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WatchDeps {
  cacheFor: (resource: string) => WatchCache | undefined;
  now: () => number;
  log: Logger;
}

export async function handleWatch(deps: WatchDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const rt = route.rt;
  const cache = deps.cacheFor(rt.resource);
  if (!cache) throw new FlotillaError(ErrorCode.Unavailable, `no watch cache for ${rt.resource}`);
  const opts = listOptions(rt.resource, q, { watch: true, name: route.name });
  const rv = opts.resourceVersion;
  const { matches, allowWatchBookmarks: bookmarks } = opts;
  // kube-apiserver: 0 or none → its own long default; negative → already expired.
  const timeoutMs = opts.timeoutSeconds === undefined || opts.timeoutSeconds === 0 ? DEFAULT_TIMEOUT_MS() : Math.max(0, opts.timeoutSeconds * 1000);
  const table = wantsTable(req.headers.accept);
  const includeObject = includeObjectOf(q);
  if (!cache.synced) {
    const waited = await Promise.race([cache.ready.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), SYNC_WAIT_MS).unref())]);
    if (!waited) throw new FlotillaError(ErrorCode.Unavailable, `the watch cache for ${rt.resource} is not ready; retry`);
  }

  res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" });
  res.flushHeaders();
  let closed = false;
  let first = true;
  let lastRv = rv ?? 0;
  let unregister: (() => void) | undefined;
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    if (closed) return;
    closed = true;
    unregister?.();
    for (const t of timers) clearTimeout(t), clearInterval(t);
    res.end();
  };
  const write = (line: string) => {
    if (closed) return;
    if (res.writableLength > MAX_WATCHER_BUFFER) {
      deps.log.warn("closing a watch whose client does not keep up", { resource: rt.resource });
      return finish();
    }
    res.write(line);
  };
  // Called from the cache's fan-out, outside the request's error boundary: a fault here ends
  // this stream (the client re-lists) and never reaches the cache or the other watchers.
  const send = (type: WatchEventType, object: KubeObject) => {
    try {
      lastRv = Math.max(lastRv, Number(object.metadata.resourceVersion ?? 0));
      const out = table
        ? toTable(rt, [object], { now: new Date(deps.now()), includeObject, resourceVersion: object.metadata.resourceVersion, noHeaders: !first })
        : asVersion(rt, object);
      first = false;
      write(encodeJson({ type, object: out }));
    } catch (e) {
      deps.log.error("closing a watch that could not encode an event", { resource: rt.resource, error: e instanceof Error ? e.message : String(e) });
      if (!closed) {
        closed = true;
        unregister?.();
        for (const t of timers) clearTimeout(t), clearInterval(t);
        res.destroy();
      }
    }
  };
  req.on("close", finish);
  res.on("close", finish);

  try {
    unregister = cache.watch({ namespace: route.namespace, matches, send, close: finish }, rv);
  } catch (e) {
    if (!isCode(e, ErrorCode.Expired)) throw e;
    write(encodeJson({ type: "ERROR", object: statusFromError(e).body }));
    return finish();
  }
  if (closed) unregister();

  const keepAlive = setInterval(() => {
    if (!bookmarks) return write("\n");
    const resourceVersion = String(Math.max(lastRv, cache.revision));
    write(encodeJson({ type: "BOOKMARK", object: { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata: { resourceVersion } } }));
  }, KEEPALIVE_MS);
  timers.push(keepAlive);
  timers.push(setTimeout(finish, Math.min(timeoutMs, MAX_TIMER_MS)));
}
