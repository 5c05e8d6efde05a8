/**
 * JetStream KV helpers: the buckets, key encoding, and the one watch primitive every reader uses
 * (initial snapshot, then changes; a synced signal even for an empty prefix; resume after a
 * revision; `Expired` when that revision is no longer retained).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager, JsMsg, MsgRequest, NextMsgRequest } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { BucketName } from "./kinds.ts";
import type { KubeObject } from "./resources.ts";
import { jetstream, jetstreamManager, DeliverPolicy, AckPolicy, DiscardPolicy } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { nanos } from "@nats-io/transport-node";
import { subjects, encodeToken, decodeToken, kvPrefix, CLUSTER_SCOPE_TOKEN } from "./subjects.ts";
import { FlotillaError, ErrorCode } from "./errors.ts";
import { openValue } from "./encryption.ts";

/** History kept per key in the main bucket: what a resumed watch can replay (see docs/store.md). */
export const MAIN_HISTORY = 16;
export const EVENTS_MAX_AGE_MS = 60 * 60 * 1000;
/** The Events bucket's size bound: past it the oldest Events go first. */
export const EVENTS_MAX_BYTES = 128 * 1024 * 1024;
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

export const KV_OPERATION_HEADER = "KV-Operation";
/** JetStream's compare-and-swap on a subject: the sequence a write expects the key's last message to have. */
export const EXPECTED_LAST_SUBJECT_SEQUENCE_HEADER = "Nats-Expected-Last-Subject-Sequence";
/** Marks the first message of an object's life (a create), so a read at an older revision knows the key did not exist then. */
export const CREATED_HEADER = "Flotilla-Created";

export interface BucketOptions {
  replicas?: number;
  /** "file" (default) or "memory". */
  storage?: "file" | "memory";
  eventsMaxAgeMs?: number;
  eventsMaxBytes?: number;
}

export interface Buckets {
  main: KV;
  events: KV;
  leases: KV;
  names: Record<BucketName, string>;
}

/** Creates (idempotently) or opens the cluster's buckets, with republish onto the events feed. */
export async function ensureBuckets(nc: NatsConnection, cluster: string, opts: BucketOptions = {}): Promise<Buckets> {
  const s = subjects(cluster);
  const kvm = new Kvm(nc);
  const names = { main: s.bucket(), events: s.eventsBucket(), leases: s.leasesBucket() };
  const common = {
    replicas: opts.replicas ?? 1,
    storage: opts.storage === "memory" ? ("memory" as const) : ("file" as const),
    maxValueSize: 2 * 1024 * 1024,
    // Direct gets skip the JSON stream API (and its base64 payloads). With one replica every read
    // is served by the only server, so it sees every acknowledged write; clustered buckets read
    // through the stream leader instead (read-after-write, see docs/store.md).
    allow_direct: (opts.replicas ?? 1) === 1,
  };
  const republish = (bucket: string) => ({ src: s.kvSubjects(bucket), dest: `${s.eventsPrefix()}>` });
  const create = async (name: string, extra: Record<string, unknown>) => {
    try {
      return await kvm.create(name, { ...common, ...extra, republish: republish(name) } as never);
    } catch (e) {
      // An existing bucket with other limits: use it as it is.
      if (String((e as Error).message).includes("already in use") || String((e as Error).message).includes("exists")) {
        return await kvm.open(name);
      }
      throw e;
    }
  };
  const [main, events, leases] = await Promise.all([
    create(names.main, { history: MAIN_HISTORY }),
    create(names.events, { history: 1, ttl: opts.eventsMaxAgeMs ?? EVENTS_MAX_AGE_MS, max_bytes: opts.eventsMaxBytes ?? EVENTS_MAX_BYTES }),
    create(names.leases, { history: 1 }),
  ]);
  await boundEvents(nc, names.events, opts.eventsMaxAgeMs ?? EVENTS_MAX_AGE_MS, opts.eventsMaxBytes ?? EVENTS_MAX_BYTES);
  // A bucket created earlier with fewer replicas is moved up in place (asking for fewer never
  // shrinks one).
  if ((opts.replicas ?? 1) > 1) {
    const jsm = await jetstreamManager(nc);
    await raiseReplicas(jsm, Object.values(names).map((b) => s.kvStream(b)), opts.replicas!);
  }
  const buckets = { main, events, leases, names };
  await followDirectGets(nc, buckets);
  return buckets;
}

/**
 * Moves streams with fewer than `replicas` replicas up to that many, in place: a stream update
 * keeps every message and the CAS sequence. Reads of a replicated bucket go through the stream
 * leader (no direct gets, which a lagging follower could answer). Returns the streams it moved.
 */
export async function raiseReplicas(jsm: JetStreamManager, streams: string[], replicas: number): Promise<string[]> {
  const moved: string[] = [];
  for (const name of streams) {
    const info = await jsm.streams.info(name).catch(() => undefined);
    if (!info || info.config.num_replicas >= replicas) continue;
    await jsm.streams.update(name, { ...info.config, num_replicas: replicas, allow_direct: false });
    moved.push(name);
  }
  return moved;
}

/**
 * Keeps the buckets' read path in step with their streams: when a stream has been moved to
 * several replicas (direct gets switched off), reads go through the leader from then on.
 * Checks now and every 2 s while the connection is open.
 */
export async function followDirectGets(nc: NatsConnection, b: Pick<Buckets, "main" | "events" | "leases" | "names">): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const pairs = [
    [b.main, b.names.main],
    [b.events, b.names.events],
    [b.leases, b.names.leases],
  ] as const;
  const check = async () => {
    for (const [kv, name] of pairs) {
      const handle = kv as unknown as { direct?: boolean };
      if (!handle.direct) continue;
      const info = await jsm.streams.info(`KV_${name}`).catch(() => undefined);
      if (info && !info.config.allow_direct) handle.direct = false;
    }
  };
  await check();
  const t = setInterval(() => {
    if (nc.isClosed()) clearInterval(t);
    else void check().catch(() => undefined);
  }, 2000);
  t.unref();
}

/**
 * The Events bucket keeps at most `maxAgeMs` of Events and `maxBytes` of storage, dropping the
 * oldest first (a KV bucket refuses new writes when full; Events would rather lose old ones).
 * Applied to an existing bucket too, so a changed setting takes effect at the next start.
 */
async function boundEvents(nc: NatsConnection, bucket: string, maxAgeMs: number, maxBytes: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(`KV_${bucket}`);
  const c = info.config;
  if (c.discard === DiscardPolicy.Old && c.max_bytes === maxBytes && c.max_age === nanos(maxAgeMs)) return;
  await jsm.streams.update(`KV_${bucket}`, { ...c, discard: DiscardPolicy.Old, max_bytes: maxBytes, max_age: nanos(maxAgeMs) });
}

/** `<resource>.<namespace|_>.<name with . encoded>` */
export function keyOf(resource: string, namespace: string | undefined, name: string): string {
  return `${resource}.${namespace ? namespace : CLUSTER_SCOPE_TOKEN}.${encodeToken(name)}`;
}
/** Prefix filter for a resource, optionally one namespace. */
export function prefixOf(resource: string, namespace?: string): string {
  return namespace ? `${resource}.${namespace}.>` : `${resource}.>`;
}
export function parseKey(key: string): { resource: string; namespace: string; name: string } {
  const [resource, ns, ...rest] = key.split(".");
  return { resource: resource!, namespace: ns === CLUSTER_SCOPE_TOKEN ? "" : ns!, name: decodeToken(rest.join(".")) };
}

export interface KvChange {
  op: "put" | "delete";
  key: string;
  revision: number;
  /** The stored object (for deletes: the last state the store wrote into the delete marker, if any). */
  object?: KubeObject;
  /** The stored bytes, for keys that hold something other than an object (allocations). */
  data?: Uint8Array;
  /** True for entries of the initial snapshot. */
  initial: boolean;
}

export interface WatchOptions {
  /** Subject filter inside the bucket, e.g. `pods.>` or `pods.default.>`. */
  filter: string;
  /** Deliver only changes after this revision (no snapshot). */
  afterRevision?: number;
  /** With no afterRevision: send the current value of every key first (default true). */
  snapshot?: boolean;
  onChange: (c: KvChange) => void;
  onSynced?: (revision: number) => void;
  onError?: (e: FlotillaError) => void;
}

export interface WatchHandle {
  stop(): void;
  /** Resolves when the initial snapshot (or the replay up to now) was delivered. */
  synced: Promise<number>;
}

const utf8 = new TextDecoder();

/** Decodes a stored object; its resourceVersion is always the KV revision it was read at. */
export function decodeObject(stored: Uint8Array, revision: number): KubeObject | undefined {
  if (stored.length === 0) return undefined;
  // Encrypted at rest (bus/encryption.ts): opened with the keys this process installed, else absent.
  const data = openValue(stored);
  if (!data) return undefined;
  try {
    const o = JSON.parse(utf8.decode(data)) as KubeObject;
    if (o && typeof o === "object" && o.metadata) o.metadata.resourceVersion = String(revision);
    return o;
  } catch {
    return undefined;
  }
}

/** The bucket that holds a resource type. */
export function bucketFor(cluster: string, bucket: BucketName): string {
  const s = subjects(cluster);
  return bucket === "main" ? s.bucket() : bucket === "events" ? s.eventsBucket() : s.leasesBucket();
}

/** Stream bounds of a bucket: first and last stream sequence (revision). */
export async function bucketBounds(jsm: JetStreamManager, bucket: string): Promise<{ first: number; last: number }> {
  const info = await jsm.streams.info(`KV_${bucket}`);
  return { first: info.state.first_seq, last: info.state.last_seq };
}

/** How long deliveries pause before a watch not yet synced asks the stream whether more are due. */
const SYNC_CHECK_MS = 250;

/** How often a watch checks that its consumer still exists. */
const CONSUMER_CHECK_MS = 5_000;

/**
 * Watches a bucket under a filter. The snapshot is each key's last value; after it (or from
 * `afterRevision + 1`) every change is delivered in revision order, deletes included.
 */
export async function watchBucket(nc: NatsConnection, bucket: string, opts: WatchOptions): Promise<WatchHandle> {
  const js: JetStreamClient = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const prefix = kvPrefix(bucket);
  const bounds = await bucketBounds(jsm, bucket);
  const resuming = opts.afterRevision !== undefined && opts.afterRevision > 0;
  if (resuming) {
    const from = (opts.afterRevision as number) + 1;
    // Revisions between the requested point and the stream's first retained one were compacted away.
    if (from < bounds.first) {
      throw new FlotillaError(ErrorCode.Expired, `too old resource version: ${opts.afterRevision} (${bounds.first - 1})`);
    }
  }
  const snapshot = !resuming && opts.snapshot !== false;
  const cc: Record<string, unknown> = {
    ack_policy: AckPolicy.None,
    filter_subject: `${prefix}${opts.filter}`,
    flow_control: true,
    idle_heartbeat: nanos(5000),
    deliver_policy: resuming ? DeliverPolicy.StartSequence : snapshot ? DeliverPolicy.LastPerSubject : DeliverPolicy.New,
  };
  if (resuming) cc.opt_start_seq = (opts.afterRevision as number) + 1;
  const oc = await js.consumers.getPushConsumer(`KV_${bucket}`, cc as never);
  const info = await oc.info(true);
  let remaining = snapshot || resuming ? info.num_pending : 0;
  let maxRev = resuming ? (opts.afterRevision as number) : bounds.last;
  let resolveSynced!: (rev: number) => void;
  const synced = new Promise<number>((r) => (resolveSynced = r));
  let isSynced = false;
  const markSynced = () => {
    if (isSynced) return;
    isSynced = true;
    maxRev = Math.max(maxRev, bounds.last);
    opts.onSynced?.(maxRev);
    resolveSynced(maxRev);
  };
  if (remaining === 0) markSynced();
  let stopped = false;
  // nats-server 2.9 can count one message too many in a filtered consumer's pending (num_pending
  // and each message's), so the count alone may never reach 0 and the watch would wait for the
  // 30 s idle heartbeat the ordered consumer asks for. When deliveries pause before the count is
  // done, the stream is asked for the next message under the filter: none at or before the
  // stream's last sequence when the watch began means the initial changes have all arrived (a
  // reader's permissions allow that question: runtime/cluster/credentials.ts, watchSubjects).
  let lastSeq = resuming ? (opts.afterRevision as number) : 0;
  let pause: NodeJS.Timeout | undefined;
  const checkSoon = () => {
    if (isSynced || stopped) return;
    clearTimeout(pause);
    pause = setTimeout(() => void checkDelivered(), SYNC_CHECK_MS);
    pause.unref();
  };
  const checkDelivered = async () => {
    if (isSynced || stopped) return;
    const from = lastSeq;
    const next = await jsm.streams.getMessage(`KV_${bucket}`, { seq: from + 1, next_by_subj: `${prefix}${opts.filter}` } as NextMsgRequest as unknown as MsgRequest).catch(() => undefined);
    if (isSynced || stopped) return;
    // Still to come (or the question failed): ask again after the next pause.
    if (next === undefined || (next !== null && next.seq <= bounds.last)) return checkSoon();
    // Nothing delivered since the question: the initial changes are all here.
    if (lastSeq === from) markSynced();
    else checkSoon();
  };
  // The consumer is NATS' ordered push consumer: it recreates itself after a gap, but notices a
  // consumer that is gone (deleted, or its server died) only after two missed 30 s heartbeats.
  // Flotilla does not wait that long: a consumer that is gone (asked for every 5 s) or missed
  // heartbeats break the watch, and the caller resumes from the last revision it saw.
  let alive: NodeJS.Timeout | undefined;
  const broken = (why: string) => {
    if (stopped) return;
    stopped = true;
    clearInterval(alive);
    clearTimeout(pause);
    iter.stop();
    opts.onError?.(new FlotillaError(ErrorCode.Unavailable, why));
  };
  const iter = await oc.consume({
    callback: (m: JsMsg) => {
      if (stopped) return;
      const op = m.headers?.get(KV_OPERATION_HEADER);
      const del = op === "DEL" || op === "PURGE";
      const initial = !isSynced;
      maxRev = Math.max(maxRev, m.seq);
      const key = m.subject.substring(prefix.length);
      // The initial snapshot omits keys whose last value is a delete marker.
      if (!(initial && snapshot && del)) {
        try {
          opts.onChange({ op: del ? "delete" : "put", key, revision: m.seq, object: decodeObject(m.data, m.seq), data: m.data, initial });
        } catch (e) {
          opts.onError?.(new FlotillaError(ErrorCode.Internal, `watch handler failed: ${(e as Error).message}`, { cause: e }));
        }
      }
      lastSeq = m.seq;
      if (!isSynced) {
        remaining--;
        if (remaining <= 0 || m.info.pending === 0) markSynced();
        else checkSoon();
      }
    },
  });
  // Safety net: an idle heartbeat means the server has nothing more to deliver right now.
  void (async () => {
    for await (const st of iter.status()) {
      if (stopped) break;
      if (st.type === "heartbeat" && !isSynced) markSynced();
      if (st.type === "heartbeats_missed") broken("the watch's consumer stopped sending heartbeats");
      if (st.type === "consumer_deleted") broken("the watch's consumer was deleted");
    }
  })().catch(() => undefined);
  // nats-server 2.9 tells a push consumer nothing when it is deleted: ask for it now and then.
  alive = setInterval(() => {
    if (stopped) return;
    oc.info().catch((e: Error) => {
      if (/consumer not found|10014/i.test(`${e.message} ${(e as { code?: unknown }).code ?? ""}`)) broken("the watch's consumer is gone");
    });
  }, CONSUMER_CHECK_MS);
  alive.unref();
  checkSoon();
  iter.closed().then((err) => {
    if (!stopped && err) opts.onError?.(new FlotillaError(ErrorCode.Unavailable, `watch closed: ${String(err)}`, { cause: err }));
    if (!stopped && !err) opts.onError?.(new FlotillaError(ErrorCode.Unavailable, "watch closed"));
  });
  return {
    synced,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(alive);
      clearTimeout(pause);
      iter.stop();
    },
  };
}

/** A consistent snapshot of a prefix: the last value of each key and the revision it reflects. */
export async function snapshotBucket(
  nc: NatsConnection,
  bucket: string,
  filter: string,
): Promise<{ revision: number; entries: { key: string; revision: number; object: KubeObject }[] }> {
  const raw = await snapshotRaw(nc, bucket, filter);
  const entries = raw.entries.flatMap((e) => {
    const object = decodeObject(e.data, e.revision);
    return object ? [{ key: e.key, revision: e.revision, object }] : [];
  });
  return { revision: raw.revision, entries };
}

/** The last value of each key under a filter, as bytes (for keys that do not hold objects). */
export async function snapshotRaw(nc: NatsConnection, bucket: string, filter: string): Promise<{ revision: number; entries: { key: string; revision: number; data: Uint8Array }[] }> {
  const entries: { key: string; revision: number; data: Uint8Array }[] = [];
  const w = await watchBucket(nc, bucket, {
    filter,
    onChange: (c) => {
      if (c.initial && c.op === "put") entries.push({ key: c.key, revision: c.revision, data: c.data ?? new Uint8Array() });
    },
  });
  const revision = await w.synced;
  w.stop();
  return { revision, entries };
}
