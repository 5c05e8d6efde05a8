/**
 * The one informer: snapshot (each key's last value) → changes from the next revision; after a
 * broken watch it resumes from the last revision, and on `Expired` re-lists and diffs so handlers
 * see exactly what changed. Handlers should only enqueue keys. Cached objects are shared, between
 * the informers of every actor of a host too (runtime/shared-watch.ts): never mutate them.
 *
 * Besides handlers, a *feed* may read the same stream one level lower, as Kubernetes' watch cache
 * reads its reflector: the snapshot at every (re)list with its revision, then each KV change in
 * revision order (the api-server's watch cache is built this way).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KubeObject } from "../bus/resources.ts";
import type { ResourceType } from "../bus/kinds.ts";
import type { KvChange, WatchHandle } from "../bus/kv.ts";
import type { Logger } from "./logger.ts";
import { watchBucket as kvWatch, bucketFor, prefixOf, parseKey } from "../bus/kv.ts";
import { resourceType } from "../bus/kinds.ts";
import { ErrorCode, FlotillaError } from "../bus/errors.ts";
import { createLogger } from "./logger.ts";
import { sliceSpent, nextSlice } from "./time-slice.ts";
import { sharedWatchOf } from "./shared-watch.ts";

export interface InformerOptions<T> {
  resource: string;
  /** The type itself, for a type the static registry does not hold (a custom resource). */
  type?: ResourceType;
  namespace?: string;
  filter?: (o: T) => boolean;
  indexers?: Record<string, (o: T) => string[]>;
  log?: Logger;
  /**
   * The KV watch: by default the host's shared watch for the connection (runtime/shared-watch.ts),
   * else `bus/kv.ts` watchBucket; specs inject a scripted one.
   */
  watch?: typeof kvWatch;
}
export interface InformerHandlers<T> {
  add?(o: T): void;
  update?(old: T, cur: T): void;
  delete?(o: T): void;
}
/** The raw stream under the cache: every (re)list as a snapshot, then every change after it. */
export interface InformerFeed {
  /** The cache was (re)filled from a snapshot taken at `revision`: at start, and after `Expired`. */
  replace(objects: KubeObject[], revision: number): void;
  /** One change after the last snapshot, in revision order. */
  change(c: KvChange): void;
}

/** What a controller needs of an informer: handlers, a start that resolves once synced, a stop. */
export interface Source<T extends KubeObject = KubeObject> {
  addHandlers(h: InformerHandlers<T>): void;
  start(): Promise<void>;
  stop(): void;
  readonly synced: boolean;
}

export function keyFor(o: { metadata: { namespace?: string; name?: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata.name ?? "");
}
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Informer<T extends KubeObject = KubeObject> implements Source<T> {
  private readonly cache = new Map<string, T>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly feeds: InformerFeed[] = [];
  /** Changes that arrived while a snapshot was being read: fed after its `replace`. */
  private held: KvChange[] | undefined;
  private readonly watchBucket: typeof kvWatch;
  private watch?: WatchHandle;
  private stopped = false;
  private _synced = false;
  private _revision = 0;
  private readonly bucket: string;
  private readonly log: Logger;
  private retryDelay = 100;

  constructor(
    private readonly nc: NatsConnection,
    cluster: string,
    private readonly opts: InformerOptions<T>,
  ) {
    const rt = opts.type ?? resourceType(opts.resource);
    if (!rt) throw new FlotillaError(ErrorCode.NotFound, `unknown resource ${opts.resource}`);
    this.bucket = bucketFor(cluster, rt.bucket);
    this.log = opts.log ?? createLogger("informer", { resource: opts.resource });
    this.watchBucket = opts.watch ?? sharedWatchOf(nc) ?? kvWatch;
    for (const name of Object.keys(opts.indexers ?? {})) this.indexes.set(name, new Map());
  }

  get synced(): boolean {
    return this._synced;
  }
  get revision(): number {
    return this._revision;
  }
  get size(): number {
    return this.cache.size;
  }

  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
  }
  /** Adds a feed (before `start`). */
  addFeed(f: InformerFeed): void {
    this.feeds.push(f);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }
  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata.namespace ?? "") === namespace);
  }
  /** How many objects an index holds under one value (no copies made). */
  countByIndex(index: string, value: string): number {
    return this.indexes.get(index)?.get(value)?.size ?? 0;
  }
  /** How many distinct values an index holds. */
  indexValues(index: string): number {
    return this.indexes.get(index)?.size ?? 0;
  }
  byIndex(index: string, value: string): T[] {
    const keys = this.indexes.get(index)?.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.cache.get(k)!).filter(Boolean);
  }

  async start(): Promise<void> {
    await this.resync();
  }

  /**
   * Starts, retrying a failed first list with the informer's back-off until it succeeds (or
   * `stop`). `failed` hears each failure; the promise resolves once synced or stopped.
   */
  async startRetrying(failed?: (e: Error, retryInMs: number) => void): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      try {
        await this.resync();
        return;
      } catch (e) {
        this.retryDelay = Math.min(this.retryDelay * 2, 5000);
        failed?.(e as Error, this.retryDelay);
        await new Promise((r) => setTimeout(r, this.retryDelay).unref?.());
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
  }

  /** Snapshot + watch with one consumer; the snapshot is diffed against the cache. */
  private async resync(): Promise<void> {
    const initial = new Map<string, T>();
    let syncedNow = false;
    // Until the diff below is done, a live change marks its key: the diff runs in time slices.
    let diffing = true;
    // Keys changed live before the diff below: the cache already holds something newer than the snapshot.
    const touched = new Set<string>();
    const snapshot: KubeObject[] = [];
    this.held = [];
    const opening = this.watchBucket(this.nc, this.bucket, {
      filter: prefixOf(this.opts.resource, this.opts.namespace),
      onChange: (c) => {
        if (!syncedNow && c.initial) {
          if (c.op === "put" && c.object) {
            const o = c.object as T;
            if (!this.opts.filter || this.opts.filter(o)) initial.set(keyFor(o), o);
            snapshot.push(c.object);
          }
          this._revision = Math.max(this._revision, c.revision);
          return;
        }
        if (diffing) {
          const { namespace, name } = parseKey(c.key);
          touched.add(namespace ? `${namespace}/${name}` : name);
        }
        this.apply(c);
      },
      onError: (e) => this.recover(e),
    });
    try {
      this.watch = await opening;
    } catch (e) {
      this.held = undefined;
      throw e;
    }
    const rev = await this.watch.synced;
    syncedNow = true;
    this._revision = Math.max(this._revision, rev);
    // Diff the snapshot against what handlers have seen, in time slices (live changes go on
    // meanwhile, and the keys they touch are left to them).
    for (const [k, old] of [...this.cache]) {
      if (sliceSpent()) await nextSlice();
      if (!initial.has(k) && !touched.has(k) && this.cache.get(k) === old) {
        this.remove(k, old);
        for (const h of this.handlers) h.delete?.(old);
      }
    }
    for (const [k, o] of initial) {
      if (sliceSpent()) await nextSlice();
      if (this.stopped) return;
      if (touched.has(k)) continue;
      const old = this.cache.get(k);
      if (old && old.metadata.resourceVersion === o.metadata.resourceVersion) continue;
      this.put(k, o, old);
      for (const h of this.handlers) (old ? h.update?.(old, o) : h.add?.(o));
    }
    diffing = false;
    const held = this.held ?? [];
    this.held = undefined;
    for (const f of this.feeds) {
      f.replace(snapshot, rev);
      for (const c of held) f.change(c);
    }
    this._synced = true;
    this.retryDelay = 100;
  }

  private apply(c: KvChange): void {
    if (this.held) this.held.push(c);
    else for (const f of this.feeds) f.change(c);
    this._revision = Math.max(this._revision, c.revision);
    const { namespace, name } = parseKey(c.key);
    const k = namespace ? `${namespace}/${name}` : name;
    const old = this.cache.get(k);
    if (c.op === "put" && c.object) {
      const o = c.object as T;
      if (this.opts.filter && !this.opts.filter(o)) {
        if (old) {
          this.remove(k, old);
          for (const h of this.handlers) h.delete?.(o);
        }
        return;
      }
      this.put(k, o, old);
      for (const h of this.handlers) (old ? h.update?.(old, o) : h.add?.(o));
    } else if (c.op === "delete" && old) {
      this.remove(k, old);
      const last = (c.object as T | undefined) ?? old;
      for (const h of this.handlers) h.delete?.(last);
    }
  }

  private put(k: string, o: T, old: T | undefined): void {
    if (old) this.unindex(k, old);
    this.cache.set(k, o);
    for (const [name, fn] of Object.entries(this.opts.indexers ?? {})) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(o)) {
        let s = idx.get(v);
        if (!s) idx.set(v, (s = new Set()));
        s.add(k);
      }
    }
  }
  private remove(k: string, old: T): void {
    this.unindex(k, old);
    this.cache.delete(k);
  }
  private unindex(k: string, old: T): void {
    for (const [name, fn] of Object.entries(this.opts.indexers ?? {})) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(old)) {
        const s = idx.get(v);
        s?.delete(k);
        if (s && s.size === 0) idx.delete(v);
      }
    }
  }

  /** A broken watch: resume after the last revision; if that is compacted away, re-list and diff. */
  private recover(e: FlotillaError): void {
    if (this.stopped) return;
    this.watch?.stop();
    this.log.warn("watch broken, resuming", { error: e.message, revision: this._revision });
    const attempt = async () => {
      if (this.stopped) return;
      try {
        try {
          this.watch = await this.watchBucket(this.nc, this.bucket, {
            filter: prefixOf(this.opts.resource, this.opts.namespace),
            afterRevision: this._revision,
            onChange: (c) => this.apply(c),
            onError: (err) => this.recover(err),
          });
        } catch (err) {
          if (err instanceof FlotillaError && err.code === ErrorCode.Expired) await this.resync();
          else throw err;
        }
        this.retryDelay = 100;
      } catch (err) {
        this.retryDelay = Math.min(this.retryDelay * 2, 5000);
        this.log.warn("watch resume failed, retrying", { error: (err as Error).message, delayMs: this.retryDelay });
        setTimeout(attempt, this.retryDelay).unref?.();
      }
    };
    setTimeout(attempt, this.retryDelay).unref?.();
  }
}
