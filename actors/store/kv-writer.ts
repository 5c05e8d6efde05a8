/**
 * Every compare-and-swap write of the store to KV (object creates, updates and delete markers,
 * allocation claims and purges) goes through one `KvWriter`. The single writer below is what
 * servers run (the store's `singleWriter` option; FLOTILLA_SINGLE_WRITER=0 turns it off): see
 * docs/store.md for what it fixes and what it still costs.
 *
 * With one replica (one server) it publishes straight away, with JetStream's
 * expected-last-subject-sequence as the compare-and-swap.
 *
 * Without the single writer, each replica publishes its own writes to a replicated bucket, one
 * key at a time, and checks a create (expected sequence 0) at the stream leader first: JetStream
 * checks an expectation above 0 before it proposes the write, but 0 only when it applies it.
 *
 * A replicated bucket (R3) has **a single writer**: the store replica whose NATS server leads the
 * bucket's stream. The other replicas forward each write to it over
 * `flotilla.<c>.kvwrite.<bucket>.<server>` (the leader's server as last heard). The writer takes
 * one key at a time, reads the key's last sequence from the stream leader, and refuses a stale
 * expectation itself (`wrong last sequence`, as JetStream words it). Only an expectation that
 * holds is published, still with the header.
 *
 * Why, on nats-server 2.9.10 (Debian 12's), whose source shows both:
 * - It checks a write's expected sequence above 0 before proposing it to the stream's replicated
 *   log, and never again as it applies it. Two updates of one key from one revision, in flight
 *   together, therefore both land: a lost update (specs/integration/ha-servers.spec.ts shows it
 *   without the single writer). The writer takes one key at a time, so the second one is refused.
 * - It checks an expected sequence of 0 (a create) only as it applies the write, and keeps a
 *   refused one in the log. A server that replays such a log after a crash comes back with a copy
 *   of the stream shifted from its leader's (docs/operations.md, `npm run chaos:nats`). The writer
 *   checks first, so JetStream refuses nothing.
 * The exceptions publish without the writer, each replica checking its own creates first as
 * without the single writer; they cost a refused write or a lost update at worst:
 * - a leadership change in the middle of a write;
 * - no writer answering within 3 s (a stream electing a leader), when a replica publishes the write
 *   itself;
 * - a writer whose own writes time out (its server leads in name only, cut off or just thawed),
 *   which stands down for 10 s so that the others are not held up behind it.
 *
 * Only store users may publish on `…kvwrite.>`: the bus permissions deny it to every other role
 * (runtime/cluster/credentials.ts), because a forwarded write is stored without validation.
 *
 * @example
 *   const writer = await startKvWriter({ nc, cluster, buckets, log, forward: true });
 *   const seq = await writer.write({ bucket: "main", key, data, expected: 0, created: true });
 */
import type { NatsConnection, Msg, Subscription, MsgHdrs } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { Buckets } from "../../bus/kv.ts";
import type { BucketName } from "../../bus/kinds.ts";
import type { Logger } from "../../runtime/logger.ts";
import { headers } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { CREATED_HEADER, KV_OPERATION_HEADER, EXPECTED_LAST_SUBJECT_SEQUENCE_HEADER } from "../../bus/kv.ts";
import { subjects as subjectsOf, kvKeySubject } from "../../bus/subjects.ts";
import { ErrorCode, FlotillaError, isTimeout } from "../../bus/errors.ts";
import { isWrongLastSequence } from "./kv-errors.ts";
import { requestMsg } from "../../bus/request.ts";

const dec = new TextDecoder();

/** Set to 0 in a server's environment to let every store replica publish its own writes (the single writer is the default). */
export const SINGLE_WRITER_ENV = "FLOTILLA_SINGLE_WRITER";

/** One compare-and-swap write: `expected` is the key's last sequence (0: the key has none). */
export interface KvWrite {
  bucket: BucketName;
  key: string;
  data: Uint8Array;
  expected: number;
  /** PUT (default), DEL (a delete marker that keeps `data`) or PURGE (drops the key's history). */
  op?: "PUT" | "DEL" | "PURGE";
  /** Marks the first write of an object's life (paged lists rely on it). */
  created?: boolean;
}

export interface KvWriter {
  /** The write's sequence; a stale `expected` throws an error `isWrongLastSequence` recognises. */
  write(w: KvWrite): Promise<number>;
  stop(): Promise<void>;
}

/** How often each replica asks which server leads each bucket (the leader advisories come at once). */
const LEADER_POLL_MS = 5000;
/**
 * How long a replica waits for a bucket's writer to appear (a leader election) before it publishes
 * the write itself, checking a create first. A stream elects a new leader in a few seconds, and a
 * publish without a leader only times out, so the wait covers most elections.
 */
const FIND_WRITER_MS = 3000;
/** While no writer answers, a replica asks which server leads the bucket at most this often. */
const REFRESH_WHILE_WAITING_MS = 1000;
/** A writer whose own writes time out (its server cannot reach the stream's quorum) stands down this long. */
const STAND_DOWN_MS = 10_000;
const FORWARD_TIMEOUT_MS = 3000;
/** The writer's own JetStream requests (the leader's last sequence, the publish, the leader check). */
const WRITER_OP_TIMEOUT_MS = 2000;
/** A publish's time-out without the single writer (the JetStream client's default). */
const PUBLISH_TIMEOUT_MS = 5000;
/** A write that takes longer than this as the writer is logged. */
const SLOW_WRITE_MS = 1000;
const BUCKETS: readonly BucketName[] = ["main", "events", "leases"];

const H_OP = "Flt-Kv-Op";
const H_KEY = "Flt-Kv-Key";
const H_EXPECTED = "Flt-Kv-Expected";
const H_CREATED = "Flt-Kv-Created";
const H_SEQ = "Flt-Kv-Seq";
const H_ERROR = "Flt-Kv-Error";

const WRONG_LAST = "wrong-last-sequence";
const NOT_WRITER = "not-the-writer";

/** JetStream's own wording and code, so `isWrongLastSequence` and every caller treat both alike. */
export function wrongLastSequence(key: string, expected: number, actual: number): Error {
  return Object.assign(new Error(`wrong last sequence: ${actual} (expected ${expected} for ${key})`), { code: 10071 });
}

/** What JetStream answers a publish: its ack, or its error. */
interface PubAck {
  stream?: string;
  seq?: number;
  error?: { code?: number; err_code?: number; description?: string };
}

/**
 * The publish itself: headers for the operation, the compare-and-swap on the subject's sequence
 * (Nats-Expected-Last-Subject-Sequence), sent through the connection's one reply inbox rather than
 * the JetStream client's request, which builds a stack-traced error object for every publish.
 */
async function publish(nc: NatsConnection, bucketName: string, w: KvWrite, timeoutMs: number): Promise<number> {
  const op = w.op ?? "PUT";
  const h = headers();
  h.set(EXPECTED_LAST_SUBJECT_SEQUENCE_HEADER, String(w.expected));
  if (op !== "PUT") h.set(KV_OPERATION_HEADER, op);
  if (op === "PURGE") h.set("Nats-Rollup", "sub");
  if (w.created) h.set(CREATED_HEADER, "1");
  const subject = kvKeySubject(bucketName, w.key);
  const m = await requestMsg(nc, subject, w.data, timeoutMs, h);
  let ack: PubAck;
  try {
    ack = JSON.parse(dec.decode(m.data)) as PubAck;
  } catch {
    throw new FlotillaError(ErrorCode.Internal, `${subject}: JetStream's answer is not JSON`);
  }
  if (ack.error) throw Object.assign(new Error(ack.error.description ?? `JetStream error ${ack.error.err_code}`), { code: ack.error.err_code ?? ack.error.code });
  if (!ack.stream || typeof ack.seq !== "number") throw new FlotillaError(ErrorCode.Internal, `${subject}: JetStream's answer is no ack`);
  return ack.seq;
}

/**
 * A create: a compare-and-swap on "no live value". A key whose last entry is a delete marker or a
 * purge is free again. Returns the write's sequence, or undefined when the key holds a value
 * (someone created it first); any other failure is thrown as it came.
 */
export async function createKey(writer: KvWriter, kv: KV, w: Omit<KvWrite, "expected">): Promise<number | undefined> {
  try {
    return await writer.write({ ...w, expected: 0 });
  } catch (e) {
    if (!isWrongLastSequence(e)) throw e;
  }
  const last = await kv.get(w.key);
  if (!last || last.operation === "PUT") return undefined;
  try {
    return await writer.write({ ...w, expected: last.revision });
  } catch (e) {
    if (isWrongLastSequence(e)) return undefined;
    throw e;
  }
}

/** Runs tasks one at a time per key, in arrival order. */
class KeyedQueue {
  private tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/** A writer that always publishes straight away (one replica; tools and specs without a store actor). */
export function directKvWriter(nc: NatsConnection, buckets: Buckets): KvWriter {
  return { write: (w) => publish(nc, buckets.names[w.bucket], w, PUBLISH_TIMEOUT_MS), stop: async () => undefined };
}

export interface KvWriterOptions {
  nc: NatsConnection;
  cluster: string;
  buckets: Buckets;
  log: Logger;
  /**
   * One writer per replicated bucket, the others forwarding to it (default). Without it every
   * replica publishes its own writes, each checked first as below.
   */
  forward?: boolean;
}

export async function startKvWriter(o: KvWriterOptions): Promise<KvWriter> {
  const forwarding = o.forward ?? true;
  // Short time-outs: a writer that cannot reach its stream's quorum must find out (and stand
  // down) well before its callers give up.
  const jsm: JetStreamManager = await jetstreamManager(o.nc, { timeout: WRITER_OP_TIMEOUT_MS });
  const s = subjectsOf(o.cluster);
  const queue = new KeyedQueue();
  /**
   * Per bucket: replicated or not (undefined until its stream has answered once: treated as
   * replicated), which NATS server leads its stream as last heard, and whether that is this
   * replica's.
   */
  const state = new Map<BucketName, { replicated?: boolean; leads: boolean; leader?: string; sub?: Subscription; standDownUntil: number }>(BUCKETS.map((b) => [b, { leads: false, standDownUntil: 0 }]));
  let stopped = false;

  /** One queue per bucket and key: writes to one key go one after the other. */
  const queueKey = (w: KvWrite) => `${w.bucket}\u0000${w.key}`;

  /** The key's last sequence as the stream leader has it (never a direct get, which a follower may answer); 0 for none. */
  const lastSequence = async (w: KvWrite): Promise<number> => {
    try {
      const m = await jsm.streams.getMessage(s.kvStream(o.buckets.names[w.bucket]), { last_by_subj: kvKeySubject(o.buckets.names[w.bucket], w.key) });
      return m?.seq ?? 0;
    } catch (e) {
      if (/no message found|10037|404/i.test(String((e as Error).message)) || (e as { code?: unknown }).code === 10037) return 0;
      throw e;
    }
  };

  /** The writer's side: one key at a time, the leader's last sequence first. */
  const execute = (w: KvWrite): Promise<number> =>
    queue.run(queueKey(w), async () => {
      const t0 = Date.now();
      try {
        const actual = await lastSequence(w);
        if (actual !== w.expected) throw wrongLastSequence(w.key, w.expected, actual);
        return await direct(w);
      } catch (e) {
        // Its server leads the stream in name only (cut off from the others, or frozen a moment
        // ago): let the other replicas write rather than time out behind it.
        if (isTimeout(e)) standDown(w.bucket);
        throw e;
      } finally {
        if (Date.now() - t0 > SLOW_WRITE_MS) o.log.warn("slow write as the bucket's writer", { bucket: w.bucket, key: w.key, ms: Date.now() - t0 });
      }
    });

  const answer = async (m: Msg, bucket: BucketName) => {
    const h = headers();
    try {
      const hd = m.headers;
      const w: KvWrite = { bucket, key: hd?.get(H_KEY) ?? "", data: m.data, expected: Number(hd?.get(H_EXPECTED)), op: (hd?.get(H_OP) || "PUT") as KvWrite["op"], created: hd?.get(H_CREATED) === "1" };
      if (!w.key || !Number.isSafeInteger(w.expected) || !["PUT", "DEL", "PURGE"].includes(w.op!)) throw new FlotillaError(ErrorCode.Invalid, "malformed forwarded write");
      if (!state.get(bucket)!.leads) throw Object.assign(new Error("not the writer of this bucket any more"), { notWriter: true });
      h.set(H_SEQ, String(await execute(w)));
    } catch (e) {
      h.set(H_ERROR, isWrongLastSequence(e) ? WRONG_LAST : (e as { notWriter?: boolean }).notWriter ? NOT_WRITER : e instanceof FlotillaError ? e.code : isTimeout(e) ? ErrorCode.Timeout : ErrorCode.Unavailable);
      m.respond(new TextEncoder().encode((e as Error).message ?? String(e)), { headers: h });
      return;
    }
    m.respond(new Uint8Array(0), { headers: h });
  };

  const setLeads = (bucket: BucketName, leads: boolean) => {
    const st = state.get(bucket)!;
    if (st.leads === leads) return;
    st.leads = leads;
    if (leads) {
      // A subject of this server's own: a writer that lost its lead but cannot say so (frozen, cut
      // off) keeps its subscription for a while, and forwarded writes must not reach it.
      st.sub = o.nc.subscribe(s.kvWrite(bucket, o.nc.info?.server_name ?? ""), { callback: (_e, m) => void answer(m, bucket) });
      o.log.info("store writes this bucket", { bucket, server: o.nc.info?.server_name });
    } else {
      st.sub?.unsubscribe();
      st.sub = undefined;
      o.log.info("store no longer writes this bucket", { bucket, server: o.nc.info?.server_name });
    }
  };

  function standDown(bucket: BucketName) {
    const st = state.get(bucket)!;
    if (!st.leads) return;
    st.standDownUntil = Date.now() + STAND_DOWN_MS;
    o.log.warn("store stands down as the bucket's writer: its writes time out", { bucket, forMs: STAND_DOWN_MS });
    setLeads(bucket, false);
  }

  const refresh = async () => {
    const me = o.nc.info?.server_name;
    await Promise.all(
      BUCKETS.map(async (bucket) => {
        const info = await jsm.streams.info(s.kvStream(o.buckets.names[bucket])).catch(() => undefined);
        const st = state.get(bucket)!;
        // No answer (the stream is electing a leader): this replica writes only while it knows it
        // leads; the others publish on their own meanwhile.
        if (!info) return setLeads(bucket, false);
        st.replicated = info.config.num_replicas > 1;
        st.leader = info.cluster?.leader;
        setLeads(bucket, forwarding && st.replicated && !!me && info.cluster?.leader === me && Date.now() >= st.standDownUntil);
      }),
    );
  };
  await refresh();
  const poll = setInterval(() => void refresh().catch(() => undefined), LEADER_POLL_MS);
  // A new leader of one of the buckets' streams is announced at once, with its name; the poll is
  // the fallback (an advisory lost while this replica was disconnected).
  const advisories = BUCKETS.map((bucket) =>
    o.nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${s.kvStream(o.buckets.names[bucket])}`, {
      callback: (_e, m) => {
        try {
          const leader = (JSON.parse(dec.decode(m.data)) as { leader?: unknown }).leader;
          const st = state.get(bucket)!;
          // A bucket moving from one replica to three elects its first leader: ask for its size.
          if (!st.replicated) return void refresh().catch(() => undefined);
          if (typeof leader !== "string") return;
          st.leader = leader;
          setLeads(bucket, forwarding && leader === o.nc.info?.server_name && Date.now() >= st.standDownUntil);
        } catch {
          void refresh().catch(() => undefined);
        }
      },
    }),
  );

  const direct = (w: KvWrite) => publish(o.nc, o.buckets.names[w.bucket], w, WRITER_OP_TIMEOUT_MS);
  /**
   * A replica's own publish to a replicated bucket. JetStream checks an expected sequence above 0
   * before it proposes the write, but an expected 0 (a create) only when it applies it, so a create
   * of a key that exists would be refused inside the replicated log: it is checked here first.
   * Two writes to one key from this replica go one after the other.
   */
  const checked = (w: KvWrite): Promise<number> =>
    queue.run(queueKey(w), async () => {
      if (w.expected === 0) {
        const actual = await lastSequence(w);
        if (actual !== 0) throw wrongLastSequence(w.key, 0, actual);
      }
      return await direct(w);
    });

  let lastRefresh = 0;
  const forward = async (w: KvWrite): Promise<number> => {
    const h: MsgHdrs = headers();
    h.set(H_KEY, w.key);
    h.set(H_EXPECTED, String(w.expected));
    h.set(H_OP, w.op ?? "PUT");
    if (w.created) h.set(H_CREATED, "1");
    const until = Date.now() + FIND_WRITER_MS;
    for (;;) {
      let reply: Msg | undefined;
      const leader = state.get(w.bucket)!.leader;
      try {
        if (leader) reply = await o.nc.request(s.kvWrite(w.bucket, leader), w.data, { timeout: FORWARD_TIMEOUT_MS, headers: h });
      } catch (e) {
        const message = String((e as Error).message);
        if (isTimeout(e)) {
          void refresh().catch(() => undefined);
          throw new FlotillaError(ErrorCode.Timeout, `write through the bucket's writer: ${message}`, { cause: e });
        }
        // Anything else but "nobody writes this bucket right now" (no responders).
        if (!/no responders|503/i.test(message)) throw new FlotillaError(ErrorCode.Unavailable, `write through the bucket's writer: ${message}`, { cause: e });
      }
      const err = reply?.headers?.get(H_ERROR);
      if (reply && !err) return Number(reply.headers?.get(H_SEQ));
      if (reply && err === WRONG_LAST) throw Object.assign(new Error(dec.decode(reply.data)), { code: 10071 });
      if (reply && err !== NOT_WRITER) throw new FlotillaError(err as ErrorCode, dec.decode(reply.data));
      // No writer (its stream is electing a leader), or it stopped leading between our look and its
      // answer: nothing was written. Ask again for a while, then publish it here, a create checked first.
      if (stopped) throw new FlotillaError(ErrorCode.Unavailable, "write through the bucket's writer: the store is stopping");
      if (Date.now() >= until) return checked(w);
      if (Date.now() - lastRefresh >= REFRESH_WHILE_WAITING_MS) {
        lastRefresh = Date.now();
        void refresh().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 100));
      if (state.get(w.bucket)!.leads) return execute(w);
    }
  };

  return {
    write(w) {
      const st = state.get(w.bucket)!;
      if (st.replicated === false) return direct(w);
      if (!forwarding || st.replicated === undefined) return checked(w);
      return st.leads ? execute(w) : forward(w);
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      for (const a of advisories) a.unsubscribe();
      for (const b of BUCKETS) setLeads(b, false);
    },
  };
}
