/**
 * A server that comes back must not bring back a stale or shifted copy of the replicated buckets.
 *
 * nats-server 2.9 (the version Debian 12 ships) replays its stream log when it restarts. When that
 * log holds compare-and-swap writes that failed (`wrong last sequence`, which Flotilla's store and
 * leader election produce whenever two writers race on one key), the replayed copy ends up with
 * other sequence numbers than the leader's: every later message sits at a shifted revision on
 * that server, and watches served from it report wrong revisions and values. NATS-only runs of
 * three 2.9.10 servers reproduce it: with racing CAS writes every restarted server's copy
 * diverges; without failed CAS writes, or without a restart, none does. NATS' own repair for a
 * copy it finds inconsistent is to drop it and catch up from the leader; 2.9 does not notice this
 * case.
 *
 * So before its nats-server starts again, a server has its copies of the replicated streams
 * removed, through another server: each such stream is scaled down to its leader alone (R1), this
 * server's files of it are deleted, and the server's replication check (server.ts) scales it back
 * to three replicas once this server is up, which rebuilds the followers from the leader, the same
 * path that moves a single-server cluster to three servers. That is only done when it is safe:
 * another server it can reach reports, for every such stream, a leader that is not this server
 * and at least one more current replica, so every acknowledged write is held by the leader.
 * Otherwise (the whole cluster restarts, no other server answers) the copies are kept as they are.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { FLOTILLA_ACCOUNT } from "../nats-server.ts";
import { writeFileAtomic } from "../atomic-file.ts";

/** Where a server keeps the client URLs of the other servers it last saw (for the check above). */
const PEERS_FILE = "peer-servers.json";

export function writePeerServers(dir: string, natsUrls: string[]): void {
  const next = JSON.stringify([...new Set(natsUrls)].sort()) + "\n";
  const path = join(dir, PEERS_FILE);
  if (existsSync(path) && readFileSync(path, "utf8") === next) return;
  writeFileAtomic(path, next, { mode: 0o600 });
}

export function readPeerServers(dir: string): string[] {
  try {
    const v = JSON.parse(readFileSync(join(dir, PEERS_FILE), "utf8")) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** The JetStream store of a server's nats-server (as `startNatsServer` lays it out). */
export const jetstreamStore = (serverDir: string) => join(serverDir, "nats", "jetstream", "jetstream");

/** Names of the streams with more than one replica that this server holds a copy of. */
export function localReplicatedStreams(store: string, account = FLOTILLA_ACCOUNT): string[] {
  const dir = join(store, account, "streams");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => {
    try {
      const meta = JSON.parse(readFileSync(join(dir, name, "meta.inf"), "utf8")) as { num_replicas?: number };
      return (meta.num_replicas ?? 1) > 1;
    } catch {
      return false;
    }
  });
}

export interface StreamView {
  stream: string;
  /** Undefined when the stream no longer exists in the cluster. */
  leader?: string;
  replicas: { name: string; current: boolean; offline: boolean }[];
  found: boolean;
}

/** Pure: may `self` drop its copies of these streams? Returns why not, or undefined when it may. */
export function resetRefusal(self: string, views: StreamView[]): string | undefined {
  for (const v of views) {
    if (!v.found) continue;
    if (!v.leader) return `${v.stream} has no leader`;
    if (v.leader === self) return `${v.stream} is led by this server`;
    if (!v.replicas.some((r) => r.name !== self && r.current && !r.offline)) return `${v.stream} has no other current replica`;
  }
  return undefined;
}

/** Removes this server's copies of replicated streams: stream dirs and their raft groups. */
export function dropReplicatedCopies(store: string, streams: string[], account = FLOTILLA_ACCOUNT): void {
  for (const s of streams) rmSync(join(store, account, "streams", s), { recursive: true, force: true });
  const groups = join(store, "SYS", "_js_");
  if (!existsSync(groups)) return;
  // Raft groups are named S-R<replicas><storage>-… (streams) and C-R… (consumers); the meta group
  // is `_meta_`. Groups of one replica are this server's alone and are kept.
  for (const g of readdirSync(groups)) if (/^[SC]-R([2-9]|\d\d)/.test(g)) rmSync(join(groups, g), { recursive: true, force: true });
}

export interface ResetOptions {
  serverDir: string;
  serverName: string;
  connect: (natsUrl: string) => Promise<NatsConnection>;
  log: { info(m: string, f?: Record<string, unknown>): void; warn(m: string, f?: Record<string, unknown>): void };
}

/**
 * Called before a server's nats-server starts. Returns the streams whose copies were dropped (to
 * catch up from their leaders), or [] when they were kept.
 */
export async function resetReplicasBeforeStart(o: ResetOptions): Promise<string[]> {
  const store = jetstreamStore(o.serverDir);
  const streams = localReplicatedStreams(store);
  if (!streams.length) return [];
  const peers = readPeerServers(o.serverDir);
  if (!peers.length) return [];
  let views: StreamView[] | undefined;
  let scaled: string[] = [];
  for (const url of peers) {
    const nc = await o.connect(url).catch(() => undefined);
    if (!nc) continue;
    try {
      const jsm = await jetstreamManager(nc, { timeout: 3000 });
      views = [];
      for (const stream of streams) {
        const info = await jsm.streams.info(stream).catch((e: Error) => (/not found/i.test(e.message) ? null : Promise.reject(e)));
        views.push(
          info
            ? { stream, found: true, leader: info.cluster?.leader, replicas: (info.cluster?.replicas ?? []).map((r) => ({ name: r.name, current: r.current, offline: r.offline === true })) }
            : { stream, found: false, replicas: [] },
        );
      }
      const refusal = resetRefusal(o.serverName, views);
      if (refusal) {
        o.log.info("this server's copies of the buckets are kept", { reason: refusal });
        return [];
      }
      // Down to the leader alone: this server (and the other follower) leave each stream's group.
      for (const v of views) {
        if (!v.found) continue;
        const info = await jsm.streams.info(v.stream);
        if (info.config.num_replicas > 1) await jsm.streams.update(v.stream, { ...info.config, num_replicas: 1 });
        scaled.push(v.stream);
      }
      const deadline = Date.now() + 10_000;
      for (const stream of scaled) {
        while (Date.now() < deadline) {
          const info = await jsm.streams.info(stream).catch(() => undefined);
          if (info && (info.cluster?.replicas ?? []).length === 0 && info.cluster?.leader) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      break;
    } catch (e) {
      if (scaled.length) throw e;
      views = undefined;
    } finally {
      await nc.close().catch(() => undefined);
    }
  }
  if (!views) {
    o.log.info("no other server answered: this server's copies of the buckets are kept", { streams });
    return [];
  }
  dropReplicatedCopies(store, streams);
  o.log.warn("this server's copies of the replicated buckets were removed; they are rebuilt from their leaders once it is up", { streams: scaled });
  return scaled;
}
