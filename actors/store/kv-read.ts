/**
 * Reads of a bucket as of a revision, for paged lists: the bucket's bounds, its keys under a prefix
 * (the stream's subject index — no values), and each key's value as it was at revision R.
 *
 * A key unchanged since R is its last message. A key changed since R is found by walking its
 * retained history; when the message that was current at R is gone (per-key history, or the
 * stream's limits), the store's own headers still tell: every store write is a CAS and carries the
 * sequence it replaced (`Nats-Expected-Last-Subject-Sequence`), and a create is marked
 * (`Flotilla-Created`). A create that replaced something at or before R means the key was absent
 * (deleted or never written) at R; anything else means R's state is lost — `expired`.
 */
import type { NatsConnection, Msg, MsgHdrs } from "@nats-io/transport-node";
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { jetstreamManager } from "@nats-io/jetstream";
import { CREATED_HEADER, KV_OPERATION_HEADER, EXPECTED_LAST_SUBJECT_SEQUENCE_HEADER } from "../../bus/kv.ts";
import { requestMsg } from "../../bus/request.ts";
import { kvPrefix } from "../../bus/subjects.ts";
import { isTimeout } from "../../bus/errors.ts";

const empty = new Uint8Array();
const enc = new TextEncoder();

export interface StoredMessage {
  seq: number;
  deleted: boolean;
  data: Uint8Array;
  /** The first write of an object's life. */
  created: boolean;
  /** The sequence this write replaced (store writes are CAS), when known. */
  replaced?: number;
}

export type StateAt = { state: "present"; message: StoredMessage } | { state: "absent" } | { state: "expired" };

const managers = new WeakMap<NatsConnection, Map<number, JetStreamManager>>();
/** A JetStream manager of this connection whose requests wait `timeoutMs` (the client's default 5 s when absent). */
async function manager(nc: NatsConnection, timeoutMs = 5000): Promise<JetStreamManager> {
  let byTimeout = managers.get(nc);
  if (!byTimeout) managers.set(nc, (byTimeout = new Map()));
  let m = byTimeout.get(timeoutMs);
  if (!m) {
    m = await jetstreamManager(nc, { checkAPI: false, timeout: timeoutMs });
    byTimeout.set(timeoutMs, m);
  }
  return m;
}

/**
 * How long each try of a replicated bucket's read waits. Such a read is answered by the stream
 * leader; while a new leader is elected (4–9 s on nats-server 2.9.10 after the old one died or
 * froze) nobody answers, and a read sent then would wait out one long time-out after the new
 * leader is there. A read is safe to make again: short tries, each a little longer, for 8 s in all.
 */
export const LEADER_READ_TRIES_MS = [1500, 2500, 4000] as const;

/** A stream's message through its leader (`getMessage`), tried again on each time-out. */
async function leaderGet(nc: NatsConnection, stream: string, query: { last_by_subj: string } | { seq: number; next_by_subj: string }): Promise<StoredMsg | null> {
  let last: unknown;
  for (const t of LEADER_READ_TRIES_MS) {
    try {
      return await (await manager(nc, t)).streams.getMessage(stream, query as never);
    } catch (e) {
      if (!isTimeout(e)) throw e;
      last = e;
    }
  }
  throw last;
}

/** A stored message's KV operation, from its headers (none: a put). */
function operationOf(h: MsgHdrs | undefined): KeyEntry["operation"] {
  const op = h?.get(KV_OPERATION_HEADER);
  return op === "DEL" || op === "PURGE" ? op : "PUT";
}

function fromHeaders(seq: number, h: MsgHdrs | undefined, data: Uint8Array): StoredMessage {
  const replaced = h?.get(EXPECTED_LAST_SUBJECT_SEQUENCE_HEADER);
  return { seq, deleted: operationOf(h) !== "PUT", data, created: !!h?.get(CREATED_HEADER), ...(replaced ? { replaced: Number(replaced) } : {}) };
}

/** JetStream's direct get of a subject's last message, or with `from` its first at or after that sequence; undefined for none. */
async function directGet(nc: NatsConnection, stream: string, subject: string, from?: number): Promise<Msg | undefined> {
  const m =
    from === undefined
      ? await requestMsg(nc, `$JS.API.DIRECT.GET.${stream}.${subject}`, empty)
      : await requestMsg(nc, `$JS.API.DIRECT.GET.${stream}`, enc.encode(JSON.stringify({ seq: from, next_by_subj: subject })));
  const code = m.headers?.code ?? 0;
  if (code === 404) return undefined;
  if (code !== 0) throw new Error(`direct get ${subject}: ${code} ${m.headers?.description ?? ""}`);
  return m;
}

/** A key's last entry as a KV get gives it: its value, revision and operation. */
export interface KeyEntry {
  value: Uint8Array;
  revision: number;
  operation: "PUT" | "DEL" | "PURGE";
}

/**
 * A key's last entry. A bucket read with direct gets (one replica) is asked through the
 * connection's one reply inbox, not the KV client's request, which builds a stack-traced error
 * object for every read; a replicated bucket is read through its stream leader as the KV client
 * does, in short tries (`LEADER_READ_TRIES_MS`).
 */
export async function readKey(nc: NatsConnection, kv: KV, bucket: string, key: string): Promise<KeyEntry | null> {
  if (!(kv as unknown as { direct?: boolean }).direct) {
    const sm = await leaderGet(nc, `KV_${bucket}`, { last_by_subj: `${kvPrefix(bucket)}${key}` });
    return sm ? { value: sm.data, revision: sm.seq, operation: operationOf(sm.header) } : null;
  }
  const m = await directGet(nc, `KV_${bucket}`, `${kvPrefix(bucket)}${key}`);
  return m ? { value: m.data, revision: Number(m.headers?.get("Nats-Sequence")), operation: operationOf(m.headers) } : null;
}

export class BucketReader {
  private readonly stream: string;
  private readonly prefix: string;

  constructor(
    private readonly nc: NatsConnection,
    bucket: string,
  ) {
    this.stream = `KV_${bucket}`;
    this.prefix = kvPrefix(bucket);
  }

  /** First and last retained revision, and whether direct gets are allowed. */
  async bounds(): Promise<{ first: number; last: number; direct: boolean }> {
    const info = await (await manager(this.nc)).streams.info(this.stream);
    return { first: info.state.first_seq, last: info.state.last_seq, direct: !!info.config.allow_direct };
  }

  /** Every key under `filter` that has a retained message (deleted ones included), unsorted. */
  async keys(filter: string): Promise<string[]> {
    const info = await (await manager(this.nc)).streams.info(this.stream, { subjects_filter: `${this.prefix}${filter}` });
    return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(this.prefix.length));
  }

  /** The key's value at revision `at`. */
  async at(key: string, at: number, direct: boolean): Promise<StateAt> {
    const last = await this.get(key, direct);
    if (!last) return { state: "absent" };
    if (last.seq <= at) return last.deleted ? { state: "absent" } : { state: "present", message: last };
    // Changed since: walk the retained history up to `at`.
    let before: StoredMessage | undefined;
    let m = await this.get(key, direct, 1);
    const first = m;
    while (m && m.seq <= at) {
      before = m;
      m = await this.get(key, direct, m.seq + 1);
    }
    if (before) return before.deleted ? { state: "absent" } : { state: "present", message: before };
    if (first && first.created && first.replaced !== undefined && first.replaced <= at) return { state: "absent" };
    return { state: "expired" };
  }

  /** The key's last message, or with `from` the first one at or after that sequence. */
  private async get(key: string, direct: boolean, from?: number): Promise<StoredMessage | undefined> {
    const subject = `${this.prefix}${key}`;
    if (direct) {
      const m = await directGet(this.nc, this.stream, subject, from);
      return m ? fromHeaders(Number(m.headers?.get("Nats-Sequence")), m.headers, m.data) : undefined;
    }
    const sm = await leaderGet(this.nc, this.stream, from === undefined ? { last_by_subj: subject } : { seq: from, next_by_subj: subject });
    return sm ? fromHeaders(sm.seq, sm.header, sm.data) : undefined;
  }
}
