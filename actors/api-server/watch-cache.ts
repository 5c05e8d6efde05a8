/**
 * The api-server's watch cache: ONE KV watch per resource type, fanned out in process to every
 * HTTP watcher (Kubernetes' watch cache). It keeps the current objects and a ring of recent
 * events, so a watch from a recent resourceVersion replays from memory; a resourceVersion older
 * than the ring gets `Expired` (410).
 *
 * Guarantee: every change with a revision above `floor` is in the ring. `floor` starts at the
 * revision the cache synced at (the cache starts with the api-server, so every list the store
 * serves afterwards has a resourceVersion ≥ floor) and rises as old events leave the ring. A list
 * served by the store may be ahead of the cache: events the list already includes (revision ≤ the
 * watcher's resourceVersion) are skipped, never replayed twice.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KvChange, WatchHandle } from "../../bus/kv.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { KubeObject } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import { watchBucket } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError, isCode } from "../../bus/errors.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface CacheEvent {
  type: WatchEventType;
  object: KubeObject;
  /** The object before this change (MODIFIED, DELETED). */
  prev?: KubeObject;
  revision: number;
}

export interface Watcher {
  namespace?: string;
  /** Label/field selector predicate. */
  matches: (o: KubeObject) => boolean;
  send: (type: WatchEventType, object: KubeObject) => void;
  /** The cache lost its feed (or was stopped): end the stream so the client re-lists. */
  close: (reason: string) => void;
}

const withRv = (o: KubeObject, revision: number): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: String(revision) } });
const keyOfObject = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

/** The pure part: state, ring and fan-out. Fed by `apply`, read by `watch`. */
export class WatchCache {
  readonly objects = new Map<string, KubeObject>();
  private ring: CacheEvent[] = [];
  private watchers = new Set<Watcher>();
  /** Every change above this revision is in the ring. */
  floor = 0;
  /** The newest revision this cache has seen (its own events or the sync point). */
  revision = 0;
  synced = false;
  private resolveReady!: () => void;
  /** Resolves when the first snapshot is in. */
  readonly ready = new Promise<void>((r) => (this.resolveReady = r));

  constructor(readonly ringSize = 2048) {}

  /** Starts over from a snapshot: clears the ring and ends every watcher (they re-list). */
  reset(entries: KubeObject[], revision: number): void {
    this.objects.clear();
    for (const o of entries) this.objects.set(keyOfObject(o), o);
    this.ring = [];
    this.floor = revision;
    this.revision = revision;
    this.synced = true;
    this.resolveReady();
    for (const w of [...this.watchers]) w.close("watch cache restarted");
    this.watchers.clear();
  }

  /** Applies one KV change after the snapshot; returns the event it produced. */
  apply(c: KvChange): CacheEvent | undefined {
    if (c.revision <= this.revision && this.synced) return undefined;
    this.revision = Math.max(this.revision, c.revision);
    let ev: CacheEvent | undefined;
    if (c.op === "put" && c.object) {
      const object = withRv(c.object, c.revision);
      const key = keyOfObject(object);
      const prev = this.objects.get(key);
      this.objects.set(key, object);
      ev = prev ? { type: "MODIFIED", object, prev, revision: c.revision } : { type: "ADDED", object, revision: c.revision };
    } else if (c.op === "delete") {
      const last = c.object ?? this.findByKvKey(c.key);
      if (!last) return undefined;
      const key = keyOfObject(last);
      const prev = this.objects.get(key);
      this.objects.delete(key);
      ev = { type: "DELETED", object: withRv(prev ?? last, c.revision), prev, revision: c.revision };
    }
    if (!ev) return undefined;
    this.ring.push(ev);
    if (this.ring.length > this.ringSize) this.floor = this.ring.shift()!.revision;
    for (const w of this.watchers) deliver(w, ev);
    return ev;
  }

  private findByKvKey(kvKey: string): KubeObject | undefined {
    // `<resource>.<ns|_>.<name with . as _>`
    const [, ns, ...rest] = kvKey.split(".");
    const name = rest.join(".").replaceAll("_", ".");
    return this.objects.get(`${ns === "_" ? "" : ns}/${name}`);
  }

  /**
   * Registers a watcher. Without a resourceVersion (or "0") it first gets every current object as
   * ADDED; with one it gets the ring's events after it. Throws Expired when that is too old.
   */
  watch(w: Watcher, resourceVersion?: number): () => void {
    if (resourceVersion === undefined || resourceVersion === 0) {
      for (const o of this.objects.values()) {
        if (inScope(w, o)) w.send("ADDED", o);
      }
    } else {
      if (resourceVersion < this.floor) {
        throw new FlotillaError(ErrorCode.Expired, `too old resource version: ${resourceVersion} (${this.floor})`);
      }
      for (const ev of this.ring) if (ev.revision > resourceVersion) deliver(w, ev);
    }
    const gated = resourceVersion ? gate(w, resourceVersion) : w;
    this.watchers.add(gated);
    return () => this.watchers.delete(gated);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  stop(reason: string): void {
    for (const w of [...this.watchers]) w.close(reason);
    this.watchers.clear();
  }
}

function inScope(w: Watcher, o: KubeObject): boolean {
  return (w.namespace === undefined || o.metadata.namespace === w.namespace) && w.matches(o);
}

/** Skips live events the watcher's resourceVersion already covers (the store's list may be ahead). */
function gate(w: Watcher, rv: number): Watcher & { minRevision: number } {
  return { ...w, minRevision: rv };
}

/** Kubernetes semantics for selectors: entering the selection is ADDED, leaving it is DELETED. */
function deliver(w: Watcher & { minRevision?: number }, ev: CacheEvent): void {
  if (w.minRevision !== undefined && ev.revision <= w.minRevision) return;
  const now = inScope(w, ev.object);
  const before = ev.prev ? inScope(w, ev.prev) : false;
  if (ev.type === "DELETED") {
    if (now || before) w.send("DELETED", ev.object);
  } else if (ev.type === "ADDED") {
    if (now) w.send("ADDED", ev.object);
  } else if (now && before) w.send("MODIFIED", ev.object);
  else if (now) w.send("ADDED", ev.object);
  else if (before) w.send("DELETED", ev.object);
}

/**
 * Feeds a WatchCache from the resource's KV prefix. A broken feed resumes after the last revision;
 * if that revision was compacted away, the cache re-snapshots and its watchers re-list.
 */
export async function startWatchCache(
  nc: NatsConnection,
  bucket: string,
  rt: ResourceType,
  log: Logger,
): Promise<{ cache: WatchCache; stop(): void }> {
  const cache = new WatchCache();
  let handle: WatchHandle | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  const filter = `${rt.resource}.>`;

  const open = async (resume: boolean): Promise<void> => {
    const initial: KubeObject[] = [];
    const onError = (e: FlotillaError) => {
      if (stopped) return;
      const delay = Math.min(5000, 250 * 2 ** failures++);
      if (failures <= 3 || failures % 10 === 0) log.warn("watch feed broken; resuming", { resource: rt.resource, error: e.message, retryMs: delay });
      handle?.stop();
      retry = setTimeout(() => void open(cache.synced).catch(() => undefined), delay);
    };
    try {
      handle = await watchBucket(nc, bucket, {
        filter,
        afterRevision: resume ? cache.revision : undefined,
        onChange: (c) => {
          if (c.initial && !resume) {
            if (c.op === "put" && c.object) initial.push(withRv(c.object, c.revision));
          } else cache.apply(c);
        },
        onError,
      });
      const rev = await handle.synced;
      failures = 0;
      if (!resume) cache.reset(initial, rev);
    } catch (e) {
      if (stopped) return;
      if (resume && isCode(e, ErrorCode.Expired)) return open(false);
      onError(e instanceof FlotillaError ? e : new FlotillaError(ErrorCode.Unavailable, String(e)));
    }
  };
  await open(false);
  return {
    cache,
    stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      handle?.stop();
      cache.stop("api-server stopping");
    },
  };
}
