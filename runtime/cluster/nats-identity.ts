/**
 * A server's JetStream identity: finding a damaged copy of a bucket, and rebuilding copies under a
 * new identity.
 *
 * nats-server 2.9.10 (Debian 12's) can leave one server's copy of a replicated stream different
 * from its leader's, while reporting it current:
 * - **shifted (ahead):** it keeps, in each stream's log, the writes JetStream refused (a
 *   compare-and-swap that failed when applied) and counts them only in memory; a server that
 *   replays its log at a restart stores the last few accepted writes a second time, and every later
 *   write lands at another sequence there (`npm run chaos:nats`). Flotilla's single writer makes
 *   refused writes rare, not impossible.
 * - **cut at the front:** a catch-up that ends without the messages it asked for ends with
 *   `Compact(last requested + 1)` ("resetting first sequence ... on catchup complete"), dropping the
 *   copy's oldest messages. It was seen after a nats-server kill and in new copies' catch-ups.
 * Either copy, once it leads, answers for a bucket that is not the one that was written.
 *
 * Every clustered server looks at its copies every 5 s (`watchCopies`, `copyFault`). By default
 * (`rebuildMode`) a server whose own copy is damaged steps down from the streams it leads and
 * restarts its nats-server, which then starts under a new JetStream identity (`<server>.<n>`) with
 * an empty store: the old store is kept aside as `jetstream.previous/`, the old identity is removed
 * from the meta group, and the stream leaders copy every bucket to the new one, as to a server that
 * joins. The copy watch goes on looking, so a rebuilt copy that came out damaged is rebuilt again.
 * A server that sees its stream leader's copy cut at the front asks that leader to step down, so
 * a sound copy leads and the damaged one finds itself.
 *
 * A server rebuilds only while **other servers lead every replicated bucket**, and have led it
 * for a few seconds. When they do not (the whole cluster is starting, a quorum is missing, or the
 * buckets have one replica), it keeps its store and identity: its copy may then be the only one.
 *
 * @example
 *   const { name, fresh } = await identityForStart({ dir, server: "server-a", cluster, peers, credentials, log });
 *   startNatsServer({ …, serverName: name });
 *   const settling = settleNewIdentity({ dir, nc, cluster, monitorUrl, self: () => name, log });
 *   settling.kick(fresh);
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Credentials } from "./credentials.ts";
import type { Logger } from "../logger.ts";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { readCheckedFile, writeFileAtomic } from "../atomic-file.ts";
import { connectNats } from "../host.ts";
import { clusterStreamNames, localJetStreamReport, localStreamCopies } from "./jetstream-cluster.ts";
import { askPeerRemove } from "../../bus/cluster-protocol.ts";
import { ErrorCode } from "../../bus/errors.ts";
import { subjects as subjectsOf } from "../../bus/subjects.ts";

/**
 * When a clustered server rebuilds its copies under a new JetStream identity (`rebuildMode`):
 * unset, when the copy watch finds one of them damaged; `1`, also at every start of its
 * nats-server; `0`, never (the copy watch only logs).
 */
export const REBUILD_ENV = "FLOTILLA_REBUILD_COPIES";

export type RebuildMode = "never" | "damaged" | "always";

export function rebuildMode(value = process.env[REBUILD_ENV]): RebuildMode {
  return value === "1" ? "always" : value === "0" ? "never" : "damaged";
}

export interface NatsIdentity {
  /** 1: the server's own name; n > 1: `<server>.<n>`. */
  incarnation: number;
  /** Earlier identities not yet removed from the meta group. */
  retiring: string[];
}

/** A stream's leader and replica count, as the stream's leader reports them. */
export interface BucketLeadership {
  stream: string;
  replicas: number;
  leader?: string;
}

const identityPath = (dir: string) => join(dir, "nats", "identity.json");
const peersPath = (dir: string) => join(dir, "nats", "peers.json");

/** The NATS server name of a server's incarnation. */
export function natsNameOf(server: string, incarnation: number): string {
  return incarnation <= 1 ? server : `${server}.${incarnation}`;
}

/** The Flotilla server a NATS server name belongs to (a stream leader's, a meta peer's). */
export function serverOfNatsName(natsName: string): string {
  return natsName.replace(/\.\d+$/, "");
}

export function readIdentity(dir: string): NatsIdentity {
  return (
    readCheckedFile(identityPath(dir), (t) => {
      const v = JSON.parse(t) as Partial<NatsIdentity>;
      return Number.isSafeInteger(v.incarnation) && (v.incarnation ?? 0) >= 1 && Array.isArray(v.retiring) ? { incarnation: v.incarnation!, retiring: v.retiring.filter((x) => typeof x === "string") } : undefined;
    }) ?? { incarnation: 1, retiring: [] }
  );
}

function writeIdentity(dir: string, id: NatsIdentity): void {
  mkdirSync(join(dir, "nats"), { recursive: true, mode: 0o700 });
  writeFileAtomic(identityPath(dir), JSON.stringify(id) + "\n", { mode: 0o600 });
}

/** The other servers' client URLs, kept so a restart can ask them before its own nats-server runs. */
export function rememberPeers(dir: string, natsUrls: string[]): void {
  const sorted = [...new Set(natsUrls)].sort();
  if (JSON.stringify(readPeers(dir)) === JSON.stringify(sorted)) return;
  mkdirSync(join(dir, "nats"), { recursive: true, mode: 0o700 });
  writeFileAtomic(peersPath(dir), JSON.stringify(sorted) + "\n", { mode: 0o600 });
}

export function readPeers(dir: string): string[] {
  return readCheckedFile(peersPath(dir), (t) => {
    const v = JSON.parse(t) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;
  }) ?? [];
}

/**
 * The decision alone: a server may drop its copies when every bucket is replicated and led by
 * another server (whose copy holds every write the bucket acknowledged).
 */
export function othersLeadEveryBucket(buckets: readonly BucketLeadership[], self: string): boolean {
  return buckets.length > 0 && buckets.every((b) => b.replicas >= 3 && !!b.leader && b.leader !== self);
}

/** A connection to the first other server that accepts one, for the questions below. */
export async function connectToPeer(o: { peers: string[]; credentials: Credentials; timeoutMs: number }): Promise<NatsConnection | undefined> {
  for (const url of o.peers) {
    const nc = await connectNats(url, "server/identity-check", o.credentials, { maxReconnectAttempts: 0, timeout: o.timeoutMs, ignoreClusterUpdates: true }).catch(() => undefined);
    if (nc) return nc;
  }
  return undefined;
}

/**
 * Each of the cluster's buckets' leader, asked through `nc`. A bucket electing its leader does
 * not answer (no leader yet); when the list itself is not answered (the meta group elects a
 * leader) nothing is known yet.
 */
export async function bucketLeadership(nc: NatsConnection, cluster: string, timeoutMs: number): Promise<BucketLeadership[]> {
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    const out: BucketLeadership[] = [];
    for (const name of await clusterStreamNames(jsm, cluster)) {
      const info = await jsm.streams.info(name).catch(() => undefined);
      out.push({ stream: name, replicas: info?.config.num_replicas ?? 3, leader: info?.cluster?.leader });
    }
    return out;
  } catch {
    return [{ stream: "(every bucket)", replicas: 3 }];
  }
}

/** Where and how long a restarting server asks the others about their buckets' leaders. */
export interface StartWait {
  cluster: string;
  peers: string[];
  credentials: Credentials;
  log: Logger;
  timeoutMs?: number;
  electionWaitMs?: number;
  stableMs?: number;
}

/**
 * Before a nats-server starts again beside running servers: waits (at most `electionWaitMs`)
 * until other servers lead every bucket, with the same leaders for `stableMs`, and returns what
 * it last saw. The buckets this server led elect new leaders in a few seconds; a leader elected a
 * moment ago may not have applied its whole log yet, and a catch-up it serves was seen cut short
 * (nats-server 2.9.10's "resetting first sequence"). Returns at once when no other server
 * answers (the whole cluster is starting: this store may be the only copy).
 */
export async function othersLeading(o: StartWait & { self: string }): Promise<BucketLeadership[] | undefined> {
  if (!o.peers.length) return undefined;
  const timeoutMs = o.timeoutMs ?? 2000;
  const deadline = Date.now() + (o.electionWaitMs ?? 15_000);
  const stableMs = o.stableMs ?? 3000;
  let seen = { leaders: "", since: Date.now() };
  let peer: NatsConnection | undefined;
  let buckets: BucketLeadership[] | undefined;
  try {
    for (;;) {
      // The server asked may go away meanwhile: then the next one that accepts a connection.
      if (!peer || peer.isClosed()) peer = await connectToPeer({ peers: o.peers, credentials: o.credentials, timeoutMs });
      if (!peer) break;
      buckets = await bucketLeadership(peer, o.cluster, timeoutMs);
      const leaders = JSON.stringify(buckets.map((b) => b.leader ?? ""));
      if (leaders !== seen.leaders) seen = { leaders, since: Date.now() };
      if (buckets.some((b) => b.replicas < 3) || Date.now() > deadline) break;
      if (othersLeadEveryBucket(buckets, o.self) && Date.now() - seen.since >= stableMs) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await peer?.close().catch(() => undefined);
  }
  return buckets;
}

/**
 * The NATS server name to start with. A server with a store from an earlier start, whose buckets
 * other servers lead, moves that store aside and takes the next identity; otherwise it keeps its
 * own. Called before each start of the server's nats-server.
 */
export async function identityForStart(o: StartWait & { dir: string; server: string }): Promise<{ name: string; fresh: boolean }> {
  const id = readIdentity(o.dir);
  const current = natsNameOf(o.server, id.incarnation);
  const store = join(o.dir, "nats", "jetstream");
  if (!o.peers.length || !existsSync(store)) return { name: current, fresh: false };
  const buckets = await othersLeading({ ...o, self: current });
  if (!buckets || !othersLeadEveryBucket(buckets, current)) {
    o.log.info("nats-server keeps its JetStream store: no other server leads every bucket", { identity: current, buckets: buckets?.map((b) => `${b.stream}:${b.leader ?? "-"}/R${b.replicas}`) ?? "no other server answered" });
    return { name: current, fresh: false };
  }
  const previous = join(o.dir, "nats", "jetstream.previous");
  rmSync(previous, { recursive: true, force: true });
  renameSync(store, previous);
  const next: NatsIdentity = { incarnation: id.incarnation + 1, retiring: [...new Set([...id.retiring, current])] };
  writeIdentity(o.dir, next);
  const name = natsNameOf(o.server, next.incarnation);
  o.log.info("nats-server starts under a new JetStream identity with an empty store: the bucket leaders copy every bucket to it", { previous: current, identity: name });
  return { name, fresh: true };
}

/** Asks a stream's leader to hand the stream to another replica; nothing when it does not answer. */
export async function askStepDown(nc: NatsConnection, cluster: string, stream: string): Promise<void> {
  await nc.request(subjectsOf(cluster).jsStreamStepdown(stream), new Uint8Array(0), { timeout: 3000 }).catch(() => undefined);
}

/** A stream's sequence range: this server's own copy (read first), or its leader's (read after). */
export interface CopyRange {
  first: number;
  last: number;
}

/**
 * What is wrong with a copy, from one look (this server's copy read first, its leader's after):
 * - `ahead`: this copy holds sequences its leader does not (shifted: a replay stored writes twice);
 * - `missing-oldest`: its leader still holds messages older than this copy's first (a catch-up that
 *   ended by cutting the copy's front: nats-server 2.9.10's "resetting first sequence");
 * - `leader-missing-oldest`: the same seen from a sound copy, when the damaged copy leads.
 *
 * A copy that is merely behind can equal its leader but never pass it, at either end: read first,
 * it has applied no more writes (and no more of the deletes that move a bucket's first sequence).
 */
export type CopyFault = "ahead" | "missing-oldest" | "leader-missing-oldest";

export function copyFault(local: CopyRange, leader: CopyRange, o: { front?: boolean } = {}): CopyFault | undefined {
  const holds = (r: CopyRange) => r.first > 0 && r.last >= r.first;
  if (local.last > leader.last) return "ahead";
  // A bucket with a maximum age drops its oldest messages on each server's own timer: its fronts
  // may differ for a moment (`front: false`).
  if (o.front === false) return undefined;
  if (holds(leader) && local.first > leader.first) return "missing-oldest";
  // The leader's first may move past this copy's between the two reads (an old key rewritten):
  // only a copy at least as far as the leader tells its leader lost the front.
  if (holds(local) && holds(leader) && leader.first > local.first && local.last >= leader.last) return "leader-missing-oldest";
  return undefined;
}

/**
 * Finds a damaged copy (`copyFault`) only when the same fault shows at `looks` looks in a row (a
 * leader that changed between the two reads of one look can show one). Pure.
 */
export class CopyCheck {
  private streak = new Map<string, { fault: CopyFault; n: number }>();

  constructor(private readonly looks = 2) {}

  /** One look at a stream this server holds a copy of but does not lead; the fault once confirmed. */
  observe(stream: string, local: CopyRange, leader: CopyRange, o: { front?: boolean } = {}): CopyFault | undefined {
    const fault = copyFault(local, leader, o);
    if (!fault) {
      this.streak.delete(stream);
      return undefined;
    }
    const prev = this.streak.get(stream);
    const n = prev?.fault === fault ? prev.n + 1 : 1;
    this.streak.set(stream, { fault, n });
    return n >= this.looks ? fault : undefined;
  }

  reset(): void {
    this.streak.clear();
  }
}

/** What the copy watch does about a fault it confirmed. */
export interface CopyRepairs {
  /** This server's copy is damaged (`ahead`, `missing-oldest`): rebuild this server's copies. */
  onDamaged: (stream: string, fault: CopyFault, local: CopyRange, leader: CopyRange) => void;
  /** The leader's copy is damaged: ask it to hand the stream to a sound copy. */
  onLeaderDamaged: (stream: string, leader: string) => void;
}

/**
 * Watches this server's copies of the cluster's buckets every `everyMs` (`CopyCheck`), and logs an
 * error and acts on each fault it confirms. After acting it looks again only `quietMs` later (the
 * rebuild or the leader change takes that long), with a fresh check.
 */
export function watchCopies(o: { nc: NatsConnection; cluster: string; monitorUrl: () => string | undefined; self: () => string; log: Logger; everyMs?: number; quietMs?: number } & CopyRepairs): { stop(): void } {
  const check = new CopyCheck();
  let quietUntil = 0;
  const look = async () => {
    const monitor = o.monitorUrl();
    if (!monitor || Date.now() < quietUntil) return;
    const copies = await localStreamCopies(monitor, o.self());
    const jsm = await jetstreamManager(o.nc, { timeout: 3000 });
    const prefix = subjectsOf(o.cluster).kvStreamsPrefix();
    for (const c of copies) {
      if (!c.stream.startsWith(prefix)) continue;
      const info = await jsm.streams.info(c.stream).catch(() => undefined);
      const leader = info?.cluster?.leader;
      if (!info || !leader || leader === o.self() || info.config.num_replicas < 3) continue;
      const local = { first: c.firstSeq, last: c.lastSeq };
      const theirs = { first: info.state.first_seq, last: info.state.last_seq };
      const fault = check.observe(c.stream, local, theirs, { front: !info.config.max_age });
      if (!fault) continue;
      quietUntil = Date.now() + (o.quietMs ?? 60_000);
      check.reset();
      const fields = { stream: c.stream, fault, copy: `${local.first}..${local.last}`, leader, leaderCopy: `${theirs.first}..${theirs.last}` };
      if (fault === "leader-missing-oldest") {
        o.log.error("the leader's copy of a bucket lost its oldest messages: it is asked to step down", fields);
        o.onLeaderDamaged(c.stream, leader);
      } else {
        o.log.error("this server's copy of a bucket differs from its leader's", fields);
        o.onDamaged(c.stream, fault, local, theirs);
      }
      return;
    }
  };
  const timer = setInterval(() => void look().catch((e) => o.log.debug("copy check failed", { error: (e as Error).message })), o.everyMs ?? 5000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}

/**
 * Whether a new copy has stalled: behind its leader, and no further than `stallMs` ago. nats-server
 * 2.9.10 can leave a new replica's catch-up unanswered by a stream leader elected before the
 * replica was placed (the copy then stays empty while reported current); a leader elected after
 * it answers. Pure: fed one look at a time.
 */
export class CatchUp {
  private seen = new Map<string, { lastSeq: number; since: number; leaderBefore: number; caughtUp: boolean; nudgedAt: number }>();

  constructor(private readonly p: { stallMs: number; nudgeEveryMs: number }) {}

  /** One look at a stream: the local copy's last sequence, then the leader's. True: ask its leader to step down now. */
  observe(stream: string, local: number, leader: number, now: number): boolean {
    const s = this.seen.get(stream) ?? { lastSeq: -1, since: now, leaderBefore: Infinity, caughtUp: false, nudgedAt: -Infinity };
    if (local !== s.lastSeq) Object.assign(s, { lastSeq: local, since: now });
    // Caught up: it holds what the leader held at the last look (writes go on meanwhile).
    if (local >= Math.min(leader, s.leaderBefore)) s.caughtUp = true;
    s.leaderBefore = leader;
    this.seen.set(stream, s);
    if (s.caughtUp || now - s.since < this.p.stallMs || now - s.nudgedAt < this.p.nudgeEveryMs) return false;
    s.nudgedAt = now;
    return true;
  }

  caughtUp(streams: readonly string[]): boolean {
    return streams.every((x) => this.seen.get(x)?.caughtUp === true);
  }
}

/**
 * After a start under a new identity, in the background: removes the server's earlier identities
 * from the JetStream meta group once its nats-server follows a meta leader (so that the leaders
 * place the new identity where the old one was), then watches each bucket's new copy until it has
 * caught up with its leader, asking a leader whose replica's catch-up stalled to step down (see
 * `CatchUp`). `kick()` after each start of the nats-server.
 */
export function settleNewIdentity(o: { dir: string; nc: NatsConnection; cluster: string; monitorUrl: () => string | undefined; self: () => string; log: Logger; everyMs?: number; stallMs?: number; credentials?: Credentials }): { kick(fresh: boolean): void; settled(withinMs: number): Promise<boolean>; stop(): void } {
  let stopped = false;
  // The new copies' leaders are asked through another server when one answers: this server's own
  // nats-server was seen to leave JetStream API requests unanswered for minutes while its new
  // copies caught up, which kept the nudges below from ever being sent.
  let peer: NatsConnection | undefined;
  const asker = async (): Promise<NatsConnection> => {
    if (o.credentials && (!peer || peer.isClosed())) peer = await connectToPeer({ peers: readPeers(o.dir), credentials: o.credentials, timeoutMs: 2000 });
    return peer && !peer.isClosed() ? peer : o.nc;
  };
  const closePeer = () => {
    void peer?.close().catch(() => undefined);
    peer = undefined;
  };
  let running = false;
  let waiters: (() => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  let catchUp: CatchUp | undefined;
  let catchUpUntil = 0;
  const retire = async (): Promise<boolean> => {
    if (!readIdentity(o.dir).retiring.length) return true;
    const monitor = o.monitorUrl();
    if (!monitor) return false;
    // A meta group with a leader: another server, or this server's new identity leading current
    // followers (not a lone new server electing itself).
    const meta = await localJetStreamReport(monitor, o.self()).catch(() => undefined);
    if (!meta?.metaLeader || readIdentity(o.dir).retiring.includes(meta.metaLeader)) return false;
    if (meta.metaLeader === o.self() && !meta.peers.some((p) => p.current && p.name !== o.self())) return false;
    for (const old of readIdentity(o.dir).retiring) {
      // Through the node controller, the one holder of the system account (cluster-queries.ts).
      const r = await askPeerRemove(o.nc, o.cluster, old);
      if (r.ok) o.log.info("earlier JetStream identity removed from the meta group", { identity: old });
      else if (r.error.code !== ErrorCode.NotFound) {
        o.log.warn("earlier JetStream identity not removed yet", { identity: old, error: r.error.message });
        continue;
      }
      const now = readIdentity(o.dir);
      writeIdentity(o.dir, { ...now, retiring: now.retiring.filter((x) => x !== old) });
    }
    return readIdentity(o.dir).retiring.length === 0;
  };
  const watchCatchUp = async (): Promise<boolean> => {
    const monitor = o.monitorUrl();
    if (!monitor || !catchUp) return true;
    const nc = await asker();
    const jsm = await jetstreamManager(nc, { timeout: 3000 });
    const copies = new Map((await localStreamCopies(monitor, o.self())).map((c) => [c.stream, c.lastSeq]));
    const mine: string[] = [];
    for (const stream of await clusterStreamNames(jsm, o.cluster)) {
      const info = await jsm.streams.info(stream);
      const replicas = info.cluster?.replicas ?? [];
      const peers = [info.cluster?.leader, ...replicas.map((r) => r.name)].filter((x): x is string => !!x);
      // Still placing: a replica missing or on a server that is gone (the old identity).
      if (peers.length < info.config.num_replicas || replicas.some((r) => r.offline)) return false;
      // Only the buckets with a replica on this server (with more than three servers, not all).
      if (!peers.includes(o.self())) continue;
      mine.push(stream);
      const local = copies.get(stream);
      if (local === undefined) return false; // placed here, not started here yet
      if (!catchUp.observe(stream, local, info.state.last_seq, Date.now())) continue;
      o.log.warn("a bucket's new copy does not catch up: its leader is asked to step down", { stream, copy: local, leader: info.cluster?.leader, leaderLastSeq: info.state.last_seq });
      await askStepDown(nc, o.cluster, stream);
    }
    const done = catchUp.caughtUp(mine);
    if (done) o.log.info("every bucket's copy under the new JetStream identity has caught up", { identity: o.self() });
    return done;
  };
  const loop = async () => {
    if (stopped) return;
    let done = false;
    try {
      done = (await retire()) && (await watchCatchUp());
    } catch (e) {
      o.log.warn("settling the new JetStream identity", { error: (e as Error).message });
    }
    if (!done && catchUp && Date.now() > catchUpUntil) {
      o.log.warn("a bucket's copy under the new JetStream identity did not catch up in time", { identity: o.self() });
      done = readIdentity(o.dir).retiring.length === 0;
    }
    if (done || stopped) {
      catchUp = undefined;
      running = false;
      closePeer();
      for (const w of waiters) w();
      waiters = [];
      return;
    }
    timer = setTimeout(() => void loop(), o.everyMs ?? 1000);
    timer.unref();
  };
  const kick = (fresh: boolean) => {
    if (fresh) {
      catchUp = new CatchUp({ stallMs: o.stallMs ?? 1500, nudgeEveryMs: 10_000 });
      catchUpUntil = Date.now() + 10 * 60_000;
    }
    if (running || stopped || (!catchUp && !readIdentity(o.dir).retiring.length)) return;
    running = true;
    void loop();
  };
  return {
    kick,
    /** True once nothing is left to retire or catch up; false when `withinMs` passed first. */
    settled(withinMs) {
      if (!running) return Promise.resolve(true);
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), withinMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve(true);
        });
      });
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      closePeer();
      for (const w of waiters) w();
      waiters = [];
    },
  };
}
