/**
 * One KV watch per (bucket, filter) for every informer of one bus identity in a process, with one
 * decoded copy of each value. It has `watchBucket`'s signature, so an informer takes it through
 * its `watch` seam; `serveWatches(nc, shared)` makes it the default for informers built on `nc`.
 *
 * - A subscriber that joins late gets every live key as an `initial` change, `synced` at the
 *   shared revision, then every change after it, which is what a watch of its own would deliver.
 * - A subscriber resuming after a revision gets the changes it missed from the recent ones kept
 *   (the last `recent`, default 1024); one older than those gets `Expired` and re-lists.
 * - A broken underlying watch resumes from its last revision, unseen by subscribers. When that
 *   revision is no longer retained, every subscriber hears `Expired` and re-lists.
 * - Each subscriber's callbacks run in the async scope it subscribed in (its actor's, see
 *   containment.ts). A handler that throws gets that subscriber an error (and only it is dropped;
 *   it resumes as after any broken watch); the others go on.
 * - The last subscriber to stop stops the underlying watch.
 *
 * Values are shared between subscribers and frozen under FLOTILLA_CACHE_MUTATION_DETECTOR=1, so a
 * reader that writes into a cached object fails where it does so.
 *
 * @example
 *   const shared = createSharedWatches({ connect: () => connectNats(url, "watch/control", creds) });
 *   const mine = shared.forActor();
 *   serveWatches(actorNc, mine.watch); // every Informer on actorNc now shares
 *   mine.stop();
 *   await shared.close();
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KvChange, WatchHandle, WatchOptions } from "../bus/kv.ts";
import type { Logger } from "./logger.ts";
import { AsyncResource } from "node:async_hooks";
import { watchBucket } from "../bus/kv.ts";
import { ErrorCode, FlotillaError, isTimeout } from "../bus/errors.ts";
import { createLogger } from "./logger.ts";
import { outsideActors, reportFault, FaultOrigin } from "./containment.ts";
import { sliceSpent, nextSlice } from "./time-slice.ts";

export type WatchFn = typeof watchBucket;

export interface SharedWatches {
  /** `watchBucket`, shared; its connection argument is ignored (the shared connection is used). */
  watch: WatchFn;
  /** The same watch for one actor: `stop` ends every subscription it made (when the actor stops). */
  forActor(): { watch: WatchFn; stop(): void };
  /** Underlying watches open now: one per (bucket, filter) with subscribers. */
  readonly open: number;
  /** Stops every underlying watch and closes the connection. */
  close(): Promise<void>;
}

export interface SharedWatchOptions {
  /** The connection the underlying watches use, opened at the first subscription. */
  connect: () => Promise<NatsConnection>;
  /** The underlying watch (default `bus/kv.ts` watchBucket); specs script it. */
  watch?: WatchFn;
  /** Changes kept for subscribers that resume after a revision (default 1024). */
  recent?: number;
  /** Freeze shared values (default: FLOTILLA_CACHE_MUTATION_DETECTOR=1). */
  freeze?: boolean;
  /**
   * The connection may move to another server of the cluster (a node's: it learns every server).
   * When making watches (first ones or resumes) has timed out for `failoverAfterMs` with none made
   * in between, the server it is on answers no JetStream requests (docs/operations.md), and the
   * connection reconnects, to another server of its list. A server's own actors stay on their
   * server: its JetStream API watch restarts that nats-server instead.
   */
  failover?: boolean;
  failoverAfterMs?: number;
  log?: Logger;
}

/** How long a node's watches time out before its connection moves to another server. */
export const WATCH_FAILOVER_AFTER_MS = 15_000;

interface Subscriber {
  opts: WatchOptions;
  scope: AsyncResource;
  stopped: boolean;
  /** Live changes that arrived while the snapshot was being handed over, delivered after it. */
  held?: KvChange[];
  /** What ended the subscription while its snapshot was being handed over: the join fails with it. */
  failedWith?: FlotillaError;
}

const served = new WeakMap<NatsConnection, WatchFn>();

/** Informers built on `nc` (an actor's connection) watch through `watch` from now on. */
export function serveWatches(nc: NatsConnection, watch: WatchFn): void {
  served.set(nc, watch);
}
/** The shared watch that serves `nc`, if the host registered one. */
export function sharedWatchOf(nc: NatsConnection): WatchFn | undefined {
  return served.get(nc);
}

export function createSharedWatches(o: SharedWatchOptions): SharedWatches {
  const underlying = o.watch ?? watchBucket;
  const log = o.log ?? createLogger("shared-watch");
  const recent = o.recent ?? 1024;
  const freeze = o.freeze ?? process.env.FLOTILLA_CACHE_MUTATION_DETECTOR === "1";
  const streams = new Map<string, Stream>();
  let conn: Promise<NatsConnection> | undefined;
  let closed = false;
  /** With `failover`: since when making watches has timed out, with none made in between. */
  let timingOutSince: number | undefined;
  const watchMade = () => void (timingOutSince = undefined);
  /** A watch (a first one, or a resume) timed out on `nc`: long enough so, the connection moves. */
  const watchTimedOut = (nc: NatsConnection, err: unknown) => {
    if (!o.failover || !isTimeout(err)) return;
    timingOutSince ??= Date.now();
    const forMs = o.failoverAfterMs ?? WATCH_FAILOVER_AFTER_MS;
    if (Date.now() - timingOutSince < forMs) return;
    timingOutSince = undefined;
    log.warn("watches have timed out through this server; moving to another server", { forMs });
    void nc.reconnect().catch(() => undefined);
  };
  // Opened outside every actor: it outlives any one of them.
  const connection = (): Promise<NatsConnection> =>
    (conn ??= outsideActors(() => o.connect()).catch((e: unknown) => {
      conn = undefined;
      throw e;
    }));

  class Stream {
    /** Each live key's last value, in revision order, ready to hand out as a snapshot entry. */
    readonly values = new Map<string, KvChange>();
    revision = 0;
    /** Every change after `floor` is in `ring`. */
    floor = 0;
    private readonly ring: KvChange[] = [];
    private head = 0;
    readonly subs = new Set<Subscriber>();
    pending = 0;
    stopped = false;
    private synced = false;
    private handle?: WatchHandle;
    private retryDelay = 100;
    readonly ready: Promise<void>;

    constructor(
      private readonly id: string,
      private readonly bucket: string,
      private readonly filter: string,
    ) {
      this.ready = outsideActors(() => this.open());
    }

    private async open(): Promise<void> {
      let nc: NatsConnection | undefined;
      try {
        nc = await connection();
        if (this.stopped) return;
        const handle = await underlying(nc, this.bucket, {
          filter: this.filter,
          onChange: (c) => this.change(c),
          onSynced: (rev) => this.markSynced(rev),
          onError: (e) => this.broken(e),
        });
        if (this.stopped) return handle.stop();
        this.handle = handle;
        watchMade();
        this.markSynced(await handle.synced);
      } catch (e) {
        if (nc) watchTimedOut(nc, e);
        this.stop();
        throw e;
      }
    }

    private markSynced(rev: number): void {
      if (this.synced) return;
      this.synced = true;
      this.revision = Math.max(this.revision, rev);
      this.floor = this.revision;
    }

    private change(raw: KvChange): void {
      if (this.stopped) return;
      const object = raw.object && freeze ? deepFreeze(raw.object) : raw.object;
      this.revision = Math.max(this.revision, raw.revision);
      this.values.delete(raw.key);
      if (raw.op === "put") this.values.set(raw.key, { op: "put", key: raw.key, revision: raw.revision, object, initial: true });
      if (!this.synced) return;
      const c: KvChange = { ...raw, object, initial: false };
      delete c.data;
      if (this.ring.length < recent) this.ring.push(c);
      else {
        this.floor = this.ring[this.head]!.revision;
        this.ring[this.head] = c;
        this.head = (this.head + 1) % recent;
      }
      for (const s of [...this.subs]) this.deliver(s, c);
    }

    /** The kept changes after `revision`, oldest first. */
    since(revision: number): KvChange[] {
      const ordered = [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
      return ordered.filter((c) => c.revision > revision);
    }

    deliver(s: Subscriber, c: KvChange, snapshotEntry = false): void {
      if (s.stopped) return;
      if (s.held && !snapshotEntry) return void s.held.push(c);
      s.scope.runInAsyncScope(() => {
        try {
          s.opts.onChange(c);
        } catch (e) {
          this.leave(s);
          fail(s, new FlotillaError(ErrorCode.Internal, `watch handler failed: ${(e as Error).message}`, { cause: e }));
        }
      });
    }

    leave(s: Subscriber): void {
      s.stopped = true;
      this.subs.delete(s);
      this.stopIfIdle();
    }
    stopIfIdle(): void {
      if (this.subs.size === 0 && this.pending === 0) this.stop();
    }

    stop(): void {
      if (this.stopped) return;
      this.stopped = true;
      this.handle?.stop();
      this.handle = undefined;
      this.values.clear();
      this.ring.length = 0;
      if (streams.get(this.id) === this) streams.delete(this.id);
    }

    /** The underlying watch broke: resume after the last revision, or make everyone re-list. */
    private broken(e: FlotillaError): void {
      if (this.stopped) return;
      this.handle?.stop();
      this.handle = undefined;
      log.warn("shared watch broken, resuming", { bucket: this.bucket, filter: this.filter, error: e.message, revision: this.revision });
      const attempt = async () => {
        if (this.stopped) return;
        let nc: NatsConnection | undefined;
        try {
          nc = await connection();
          if (this.stopped) return;
          const handle = await underlying(nc, this.bucket, {
            filter: this.filter,
            afterRevision: this.revision,
            onChange: (c) => this.change(c),
            onError: (err) => this.broken(err),
          });
          if (this.stopped) return handle.stop();
          this.handle = handle;
          this.retryDelay = 100;
          watchMade();
        } catch (err) {
          if (err instanceof FlotillaError && err.code === ErrorCode.Expired) return this.expire(err);
          this.retryDelay = Math.min(this.retryDelay * 2, 5000);
          log.warn("shared watch resume failed, retrying", { error: (err as Error).message, delayMs: this.retryDelay });
          if (nc) watchTimedOut(nc, err);
          setTimeout(() => void attempt(), this.retryDelay).unref?.();
        }
      };
      setTimeout(() => void attempt(), this.retryDelay).unref?.();
    }

    /** What the watch missed is gone from the bucket: every subscriber re-lists (from a new stream). */
    private expire(e: FlotillaError): void {
      log.warn("shared watch expired; its subscribers re-list", { bucket: this.bucket, filter: this.filter, error: e.message });
      const subs = [...this.subs];
      this.subs.clear();
      this.stop();
      for (const s of subs) {
        s.stopped = true;
        fail(s, e);
      }
    }
  }

  function fail(s: Subscriber, e: FlotillaError): void {
    s.stopped = true;
    // Still joining: the watch call itself fails, as it would have before the snapshot began.
    if (s.held) return void (s.failedWith = e);
    s.scope.runInAsyncScope(() => {
      try {
        s.opts.onError?.(e);
      } catch (err) {
        reportFault(FaultOrigin.callback, err);
      }
    });
  }

  const watch: WatchFn = async (_nc, bucket, opts) => {
    // The subscriber's scope (its actor's), captured before the first await.
    const scope = new AsyncResource("flotilla.shared-watch");
    if (closed) throw new FlotillaError(ErrorCode.Unavailable, "the shared watches are closed");
    const id = `${bucket}\u0000${opts.filter}`;
    let s: Stream;
    for (;;) {
      s = streams.get(id) ?? new Stream(id, bucket, opts.filter);
      streams.set(id, s);
      s.pending++;
      try {
        await s.ready;
      } finally {
        s.pending--;
      }
      // Expired (or closed) while this one waited: join the stream that replaces it.
      if (!s.stopped) break;
      if (closed) throw new FlotillaError(ErrorCode.Unavailable, "the shared watches are closed");
    }
    const sub: Subscriber = { opts, scope, stopped: false };
    const after = opts.afterRevision ?? 0;
    let rev: number;
    if (after > 0) {
      if (after < s.floor) {
        // The refused subscriber re-lists at once, from this stream's values: keep it until then.
        const refused = s;
        setImmediate(() => refused.stopIfIdle());
        throw new FlotillaError(ErrorCode.Expired, `too old resource version: ${after} (${s.floor})`);
      }
      s.subs.add(sub);
      for (const c of s.since(after)) s.deliver(sub, c);
      rev = Math.max(after, s.revision);
    } else {
      s.subs.add(sub);
      rev = s.revision;
      if (opts.snapshot !== false) {
        // In time slices: a snapshot of 100,000 objects handed over at once would hold up the
        // event loop for seconds. Changes arriving meanwhile wait, in order, until it is done.
        const entries = [...s.values.values()];
        sub.held = [];
        for (const c of entries) {
          if (sliceSpent()) await nextSlice();
          if (sub.stopped) break;
          s.deliver(sub, c, true);
        }
        const held = sub.held;
        sub.held = undefined;
        if (sub.failedWith) throw sub.failedWith;
        for (const c of held) s.deliver(sub, c);
      }
    }
    if (!sub.stopped && opts.onSynced) {
      const onSynced = opts.onSynced;
      scope.runInAsyncScope(() => onSynced(rev));
    }
    const stream = s;
    return {
      synced: Promise.resolve(rev),
      stop: () => {
        if (!sub.stopped) stream.leave(sub);
      },
    };
  };

  return {
    watch,
    forActor() {
      const handles = new Set<WatchHandle>();
      let stopped = false;
      return {
        watch: async (nc, bucket, opts) => {
          if (stopped) throw new FlotillaError(ErrorCode.Unavailable, "the actor's watches are stopped");
          const h = await watch(nc, bucket, opts);
          if (stopped) h.stop();
          else handles.add(h);
          return {
            synced: h.synced,
            stop: () => {
              handles.delete(h);
              h.stop();
            },
          };
        },
        stop() {
          stopped = true;
          for (const h of handles) h.stop();
          handles.clear();
        },
      };
    },
    get open() {
      return streams.size;
    },
    async close() {
      closed = true;
      for (const s of [...streams.values()]) s.stop();
      const c = conn;
      conn = undefined;
      const nc = await c?.catch(() => undefined);
      await nc?.drain().catch(() => nc.close());
    },
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
