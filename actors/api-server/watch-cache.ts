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
import type { KvChange } from "../../bus/kv.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { KubeObject } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import { parseKey } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { Informer } from "../../runtime/informer.ts";

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

const withRv = (o: KubeObject, revision: number): KubeObject =>
  o.metadata.resourceVersion === String(revision) ? o : { ...o, metadata: { ...o.metadata, resourceVersion: String(revision) } };
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
    const { namespace, name } = parseKey(kvKey);
    return this.objects.get(`${namespace}/${name}`);
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
 * Feeds a WatchCache from the resource's informer (runtime/informer.ts): the informer's snapshot
 * resets the cache, each change after it is applied. A broken feed resumes after the last
 * revision; if that revision was compacted away, the informer re-lists, the cache resets and its
 * watchers re-list. A first list that fails is retried in the background (watches wait for `ready`).
 */
export async function startWatchCache(nc: NatsConnection, cluster: string, rt: ResourceType, log: Logger): Promise<{ cache: WatchCache; stop(): void }> {
  const cache = new WatchCache();
  const informer = new Informer(nc, cluster, { resource: rt.resource, type: rt, log: log.child({ watchCache: rt.resource }) });
  informer.addFeed({ replace: (objects, revision) => cache.reset(objects, revision), change: (c) => cache.apply(c) });
  let failures = 0;
  await new Promise<void>((settled) => {
    void informer
      .startRetrying((e, retryMs) => {
        failures++;
        if (failures <= 3 || failures % 10 === 0) log.warn("watch cache cannot list; retrying", { resource: rt.resource, error: e.message, retryMs });
        settled();
      })
      .then(settled);
  });
  return {
    cache,
    stop() {
      informer.stop();
      cache.stop("api-server stopping");
    },
  };
}
