/**
 * One Flotilla server: a nats-server joined to the cluster's routes (kept running), the servers'
 * registry and bootstrap data, the replication policy (every bucket R3 once three servers are
 * known) and every control-plane actor (leader-elected ones stand by here when another server
 * leads), the api-server on this server's address, and optionally a local node.
 *
 * @example
 *   const s = await runServer({ dir: "/var/lib/flotilla", token, config });
 *   await s.stop();
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import type { ActorSpec } from "../actor.ts";
import type { Host } from "../host.ts";
import type { ServerConfig } from "./server-config.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { join } from "node:path";
import type { NatsTls } from "../nats-server.ts";
import { startNatsServer, superviseNatsServer, FLOTILLA_ACCOUNT } from "../nats-server.ts";
import { startHost, connectNats, isNatsUnreachable } from "../host.ts";
import { createLogger } from "../logger.ts";
import { ACTORS, CONTROL_PLANE } from "../../actors/registry.ts";
import { ensurePki, ensureServingCert } from "../../actors/api-server/certs.ts";
import { ensureTokens } from "../../actors/api-server/tokens.ts";
import { raiseReplicas, ensureBuckets } from "../../bus/kv.ts";
import type { Subscription } from "@nats-io/transport-node";
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { importObjects, dump } from "./migrate.ts";
import { serveJoins } from "./join.ts";
import { subjects } from "../../bus/subjects.ts";
import { derive } from "./token.ts";
import { clusterUsers, credentialsOf, sysPassword } from "./credentials.ts";
import { serveNodeJoins, listNodes } from "./node-credentials.ts";
import { readJson } from "./server-config.ts";
import type { BootstrapData } from "./bootstrap.ts";
import { seal, open, readLocal, writeLocal } from "./bootstrap.ts";
import { SINGLE_WRITER_ENV } from "../../actors/store/kv-writer.ts";
import type { Ask } from "./jetstream-watch.ts";
import { askJetStreamReply, watchJetStreamApi, DEFAULT_JETSTREAM_WATCH, JS_API_INFO, streamInfoSubject, othersCurrentIn } from "./jetstream-watch.ts";
import { openRegistry, existingRegistry, putServer, listServers, announcedServers, deleteServer, BOOTSTRAP_KEY } from "./registry.ts";
import { localJetStreamReport, clusterStreamNames } from "./jetstream-cluster.ts";
import { serverOfNatsName, identityForStart, natsNameOf, readIdentity, readPeers, rememberPeers, settleNewIdentity, watchCopies, rebuildMode, othersLeading, connectToPeer, bucketLeadership, askStepDown } from "./nats-identity.ts";
import { leaveThrough } from "./leave.ts";
import { settle } from "./settle.ts";
import { writeServerState, writeServerConfig, JETSTREAM_DOMAIN } from "./server-config.ts";
import { ensureRouteCert } from "./route-cert.ts";
import { encryptionConfigPath, ensureEncryptionConfig } from "../../actors/store/encryption-config.ts";

/** Servers needed before buckets are replicated (R3): a majority of 3 survives one loss. */
export const REPLICATED_AT = 3;
export const NATS_CLUSTER_NAME = "flotilla";

export interface RunServerOptions {
  dir: string;
  token: string;
  config: ServerConfig;
  /** The first server: creates the CA and tokens when its data dir has none (others fetch them). */
  init?: boolean;
  log?: ReturnType<typeof createLogger>;
}

export interface RunningServer {
  natsUrl: string;
  sysUrl: string;
  apiUrl: string;
  host: Host;
  /** Resolves with a new config when this server must be started again (it became clustered), or undefined once stopped. */
  next: Promise<ServerConfig | undefined>;
  stop(o?: { leave?: boolean }): Promise<void>;
}

/** The nodes this server's nats-server has users for (kept so a restart knows them before JetStream is up). */
const nodesCachePath = (dir: string) => join(dir, "nodes.json");

/** Replicas every bucket should have with this many servers. */
export function desiredReplicas(servers: number): number {
  return servers >= REPLICATED_AT ? 3 : 1;
}

async function waitForJetStream(nc: NatsConnection, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      await jsm.getAccountInfo();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`JetStream did not become available in ${timeoutMs / 1000} s: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}



/** First server: seal and store the local bootstrap data. Others: fetch, open and write it locally. */
/** Returns the bootstrap data as stored (what every server now has). */
async function syncBootstrap(kv: KV, dir: string, token: string, log: ReturnType<typeof createLogger>): Promise<BootstrapData> {
  const local = readLocal(dir);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const e = await kv.get(BOOTSTRAP_KEY).catch(() => undefined);
    if (e && e.operation === "PUT" && e.value.length) {
      // The stored data wins: every server serves with the same CA, tokens and encryption keys.
      const stored = open(token, e.string());
      writeLocal(dir, stored);
      return stored;
    }
    if (local && e !== undefined) {
      const stored = await kv.create(BOOTSTRAP_KEY, seal(token, local)).then(
        () => true,
        () => false,
      );
      if (stored) {
        log.info("bootstrap data stored (sealed with the join token)");
        return local;
      }
    }
    if (Date.now() > deadline) throw new Error("no bootstrap data in the store after 60 s: start the first server (the one that wrote the token) first");
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Keeps `encryption-config.yaml` the same on every server (it is part of the bootstrap data): an
 * edit made on this server (a key added, an old key removed) is stored, and an edit stored by
 * another server is written here, where the store and the api-server follow the file.
 */
function encryptionConfigFollower(kv: KV, dir: string, token: string, synced: string | undefined, log: ReturnType<typeof createLogger>): () => Promise<void> {
  let last = synced;
  return async () => {
    const e = await kv.get(BOOTSTRAP_KEY);
    if (!e || e.operation !== "PUT" || !e.value.length) return;
    const stored = open(token, e.string());
    const local = readLocal(dir)?.encryptionConfig;
    if (local !== undefined && local !== last) {
      await kv.update(BOOTSTRAP_KEY, seal(token, { ...stored, encryptionConfig: local }), e.revision);
      last = local;
      log.info("encryption configuration edited here: stored for every server");
    } else if (stored.encryptionConfig !== undefined && stored.encryptionConfig !== last) {
      writeLocal(dir, stored);
      last = stored.encryptionConfig;
      log.info("encryption configuration edited on another server: written here");
    }
  };
}

export async function runServer(o: RunServerOptions): Promise<RunningServer> {
  const { dir, token, config: c } = o;
  const log = o.log ?? createLogger("server", { name: c.name });
  const s = subjects(c.cluster);
  const passwords = { sys: sysPassword(token) };
  // No anonymous user: one user per role and per node (see credentials.ts); nodes that join later
  // are added to the running nats-server by a config reload.
  const nodes = new Set<string>([...(readJson<string[]>(nodesCachePath(dir)) ?? []), ...(c.node ? [c.node.name] : [])]);
  const users = () => clusterUsers(token, c.cluster, nodes);
  const addNodes = (names: string[]) => {
    const fresh = names.filter((n) => !nodes.has(n));
    if (!fresh.length) return;
    for (const n of fresh) nodes.add(n);
    writeFileSync(nodesCachePath(dir), JSON.stringify([...nodes].sort()) + "\n", { mode: 0o600 });
    nats.current.reload(users());
    log.info("node users added", { nodes: fresh });
  };
  const routeListen = `${c.address}:${c.ports.route}`;
  const clustered = c.peers.filter((p) => p !== routeListen).length > 0;
  writeServerConfig(dir, c);
  const startedAt = new Date().toISOString();
  const apiUrl = `https://${c.address}:${c.ports.api}`;
  let state = { name: c.name, address: c.address, pid: process.pid, natsPid: 0, natsUrl: `nats://${c.address}:${c.ports.nats}`, apiUrl, route: routeListen, startedAt };
  // Client, leaf and route connections run over TLS with this server's certificate from the
  // cluster CA (clients and the other servers verify it). Every server has the CA before its
  // nats-server starts: the first server makes it here, a joining server fetched it through the
  // server it joins, `up --servers` gives it to all.
  if (o.init && !readLocal(dir)) {
    ensurePki(dir);
    ensureTokens(dir);
  }
  if (!readLocal(dir)) throw new Error(`${dir}/pki has no cluster CA: a server joins with --join (which fetches it) or gets the first server's pki/ca.crt, pki/ca.key and tokens.csv`);
  const natsTls: NatsTls = ensureRouteCert(dir, c.address);
  const caFile = natsTls.caFile;
  /** What this server's own connections (store role) log in with, to its nats-server or another's. */
  const storeCredentials = credentialsOf(token, { role: "store" }, caFile);
  // The JetStream identity of this start: a clustered server that restarts its nats-server to
  // rebuild a damaged copy (or at every start, with FLOTILLA_REBUILD_COPIES=1) takes a new one with
  // an empty store, while the others lead every bucket (nats-identity.ts says why).
  const rebuild = clustered ? rebuildMode() : "never";
  let rebuildNext = false;
  let natsName = natsNameOf(c.name, readIdentity(dir).incarnation);
  let fresh = false;
  let settling: ReturnType<typeof settleNewIdentity> | undefined;
  /** The JetStream API watch, once it runs (below): told of each start of the nats-server. */
  const jsApi: { watch?: ReturnType<typeof watchJetStreamApi> } = {};
  let natsStarts = 0;
  let restartAtOnce = false;
  const nats = await superviseNatsServer(
    async () => {
      fresh = false;
      const others = { cluster: c.cluster, peers: readPeers(dir), credentials: storeCredentials, log };
      if (rebuild === "always" || rebuildNext) ({ name: natsName, fresh } = await identityForStart({ ...others, dir, server: c.name }));
      // Started again beside running servers (killed, or found unanswering): its catch-up is
      // served by the leaders the others elected meanwhile, once they have settled (othersLeading).
      else if (clustered && natsStarts > 0 && !restartAtOnce) await othersLeading({ ...others, self: natsName, electionWaitMs: 10_000 });
      rebuildNext = false;
      restartAtOnce = false;
      natsStarts++;
      return startNatsServer({
        host: c.address,
        port: c.ports.nats,
        dataDir: dir,
        serverName: natsName,
        passwords,
        users: users(),
        cluster: clustered ? { name: NATS_CLUSTER_NAME, listen: routeListen, routes: c.peers, routePassword: derive(token, "route"), tls: natsTls } : undefined,
        leafListen: `${c.address}:${c.ports.leaf}`,
        tls: natsTls,
        jetstreamDomain: JETSTREAM_DOMAIN,
        // The meta group's size without the system account (localJetStreamReport), local only.
        monitorPort: 0,
        monitorHost: "127.0.0.1",
        logFile: join(dir, "nats", "nats-server.log"),
      });
    },
    {
      onRestart: (n) => {
        log.warn("nats-server died and was started again", { pid: n.pid, identity: natsName });
        jsApi.watch?.started();
        settling?.kick(fresh);
        if (fresh) restartActors();
        state = { ...state, natsPid: n.pid };
        writeServerState(dir, state);
      },
      onError: (e) => log.error("nats-server restart failed", { error: e.message }),
    },
  );
  state = { ...state, natsPid: nats.current.pid };
  writeServerState(dir, state);

  const natsUrl = nats.current.url;
  const sysUrl = nats.current.sysUrl;
  const nc = await connectNats(natsUrl, `server/${c.name}`, storeCredentials);
  let copyWatch: { stop(): void } | undefined;
  if (clustered) {
    settling = settleNewIdentity({ dir, nc, cluster: c.cluster, monitorUrl: () => nats.current.monitorUrl, self: () => natsName, log, credentials: storeCredentials });
    settling.kick(fresh);
    copyWatch = watchCopies({
      nc,
      cluster: c.cluster,
      monitorUrl: () => nats.current.monitorUrl,
      self: () => natsName,
      log,
      // The next start rebuilds every copy here, once the others lead every bucket: so this
      // server hands over the buckets it leads first. With the rebuild off (FLOTILLA_REBUILD_COPIES=0)
      // the error logged is what an operator acts on (docs/operations.md).
      onDamaged: () => {
        if (rebuild === "never") return;
        void (async () => {
          log.warn("restarting this server's nats-server to rebuild its copies", { identity: natsName });
          for (const b of await bucketLeadership(nc, c.cluster, 3000)) if (b.leader === natsName) await askStepDown(nc, c.cluster, b.stream);
        })()
          .catch((e: unknown) => log.warn("handing over this server's buckets before the rebuild", { error: (e as Error).message }))
          .finally(() => {
            rebuildNext = true;
            void nats.current.stop();
          });
      },
      onLeaderDamaged: (stream) => void askStepDown(nc, c.cluster, stream),
    });
  }
  let timer: NodeJS.Timeout | undefined;
  let host: Host | undefined;
  let startActors: (() => Promise<Host>) | undefined;
  let stopped = false;
  /** The actors' restart under way, if any (stop waits for it). */
  let actorsRestart: Promise<void> | undefined;
  // The nats-server came back under a new JetStream identity while the actors ran: the watches
  // they hold may now be served from a copy still empty, so they start again once every copy here
  // has caught up (as at a start: see below).
  const restartActors = () => {
    if (actorsRestart || !host || !startActors || !settling) return;
    actorsRestart = startActorsAgain(host, startActors, settling).finally(() => (actorsRestart = undefined));
  };
  const startActorsAgain = async (running: Host, start: () => Promise<Host>, copies: ReturnType<typeof settleNewIdentity>) => {
    try {
      log.warn("this server's actors start again once every bucket's new copy has caught up", { identity: natsName });
      // Their connections are reconnecting to the new nats-server meanwhile: a stop that hangs on
      // one must not keep the server without actors.
      const stoppedInTime = await Promise.race([running.stop().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000).unref())]);
      if (!stoppedInTime) log.warn("this server's actors did not stop within 20 s; starting them again all the same");
      if (!(await copies.settled(60_000))) log.warn("starting the actors before every bucket's new copy caught up");
      if (!stopped) {
        host = await start();
        log.warn("this server's actors started again", { identity: natsName });
      }
    } catch (e) {
      log.error("restarting the actors failed", { error: (e as Error).message });
    }
  };
  let watchNc: NatsConnection | undefined;
  /** The other servers', for the JetStream API watch to ask the same before a restart (made again when closed). */
  const elsewhere = new Map<string, NatsConnection>();
  const stopWatch = async () => {
    jsApi.watch?.stop();
    copyWatch?.stop();
    settling?.stop();
    await watchNc?.close().catch(() => undefined);
    for (const peer of elsewhere.values()) await peer.close().catch(() => undefined);
    elsewhere.clear();
  };
  let joins: Subscription | undefined;
  let nodeJoins: Subscription | undefined;
  let settleNext!: (c: ServerConfig | undefined) => void;
  const next = new Promise<ServerConfig | undefined>((r) => (settleNext = r));
  // Alone → clustered with the first server that joins: dump, restart NATS with a route, import.
  const becomeClustered = async (route: string) => {
    try {
      if (timer) clearInterval(timer);
      await stopWatch();
      joins?.unsubscribe();
      nodeJoins?.unsubscribe();
      await host?.stop();
      const data = await dump(nc, c.cluster);
      writeFileSync(join(dir, "import.json"), JSON.stringify(data), { mode: 0o600 });
      await nc.close().catch(() => undefined);
      await nats.stop();
      const js = join(dir, "nats", "jetstream");
      if (existsSync(js)) renameSync(js, join(dir, "nats", `jetstream.standalone-${Date.now()}`));
      const nextConfig = { ...c, peers: [route] };
      writeServerConfig(dir, nextConfig);
      log.info("restarting clustered", { route });
      settleNext(nextConfig);
    } catch (e) {
      log.error("becoming clustered failed", { error: (e as Error).message });
      process.exitCode = 1;
      settleNext(undefined);
    }
  };
  try {
    log.info("waiting for JetStream", { clustered });
    await waitForJetStream(nc, 60_000);
    log.info("JetStream available");
    // The meta group's peers as this server's own nats-server reports them (the last count known
    // when it does not answer, e.g. while it restarts).
    let knownServers = 1;
    const servers = async () => {
      const monitor = nats.current.monitorUrl;
      if (!monitor) return knownServers;
      try {
        const report = await localJetStreamReport(monitor, c.name);
        knownServers = new Set([natsName, ...(report.metaLeader ? [report.metaLeader] : []), ...report.peers.map((p) => p.name)]).size;
      } catch (e) {
        log.debug("JetStream report of the local nats-server not read", { error: (e as Error).message });
      }
      return knownServers;
    };
    const registry = await settle("opening the servers' registry", async () => openRegistry(nc, c.cluster, desiredReplicas(await servers())));
    if (o.init) {
      ensurePki(dir);
      ensureTokens(dir);
    }
    if (o.init) ensureEncryptionConfig(dir);
    const followEncryption = encryptionConfigFollower(registry, dir, token, (await syncBootstrap(registry, dir, token, log)).encryptionConfig, log);
    log.info("bootstrap data in place");
    ensurePki(dir);
    ensureTokens(dir);
    ensureServingCert(dir, [c.address]);
    await settle("registering this server", () => putServer(registry, { name: c.name, address: c.address, natsUrl, route: routeListen, leafUrl: `nats-leaf://${c.address}:${c.ports.leaf}`, apiUrl, startedAt }));

    joins = serveJoins(nc, c.cluster, (r) => {
      log.info("a server joins", { ...r, converting: !clustered });
      if (clustered) return { ok: true, converting: false };
      setTimeout(() => void becomeClustered(r.route), 100);
      return { ok: true, converting: true };
    });

    nodeJoins = serveNodeJoins(nc, {
      cluster: c.cluster,
      token,
      registry,
      servers: async () => {
        const listed = await listServers(registry).catch(() => []);
        return announcedServers(listed, { name: c.name, natsUrl, leafUrl: `nats-leaf://${c.address}:${c.ports.leaf}` });
      },
      onNode: (name) => addNodes([name]),
    });

    // Replication policy: once three servers are known every bucket is moved to R3 in place.
    const reconcile = async () => {
      await followEncryption().catch((e) => log.warn("encryption configuration not synchronised", { error: (e as Error).message }));
      addNodes(await listNodes(registry));
      const listed = await listServers(registry);
      const routes = listed.map((r) => r.route).filter((r) => r !== routeListen);
      rememberPeers(dir, listed.filter((r) => r.name !== c.name).map((r) => r.natsUrl));
      if (clustered && routes.some((r) => !c.peers.includes(r))) {
        c.peers = [...new Set([...c.peers, ...routes])];
        writeServerConfig(dir, c);
      }
      const known = await servers();
      const replicas = desiredReplicas(known);
      log.debug("replication check", { servers: known, replicas });
      if (replicas === 1) return;
      const jsm = await jetstreamManager(nc);
      const moved = await raiseReplicas(jsm, await clusterStreamNames(jsm, c.cluster), replicas);
      if (moved.length) log.info("buckets moved to more replicas", { replicas, streams: moved });
    };
    await reconcile().catch((e) => log.warn("replication check failed", { error: (e as Error).message }));
    timer = setInterval(() => void reconcile().catch((e) => log.warn("replication check failed", { error: (e as Error).message })), 3000);
    timer.unref();

    const replicas = desiredReplicas(await servers());
    const importPath = join(dir, "import.json");
    if (o.init && existsSync(importPath)) {
      await settle("creating the buckets", () => ensureBuckets(nc, c.cluster, { replicas }));
      const n = await importObjects(nc, importPath);
      renameSync(importPath, join(dir, "import.done.json"));
      log.info("objects of the single-server data dir imported", { objects: n });
    }
    const plane: ActorSpec[] = CONTROL_PLANE.map((kind) => ({
      def: ACTORS[kind]!,
      opts:
        kind === "api-server"
          ? { port: c.ports.api, host: c.address, dataDir: dir }
          : kind === "node-controller"
            ? { sysNatsUrl: sysUrl, sysCaFile: caFile }
            : kind === "store"
              ? { replicas, perNodeSubjects: true, singleWriter: process.env[SINGLE_WRITER_ENV] !== "0", ...(existsSync(encryptionConfigPath(dir)) ? { encryptionConfig: encryptionConfigPath(dir) } : {}) }
              : {},
    }));
    const nodeActors: ActorSpec[] = c.node
      ? [
          { def: ACTORS.kubelet!, opts: { nodeName: c.node.name, engine: c.node.engine, dataDir: join(dir, "nodes", c.node.name), hostIP: c.address } },
          { def: ACTORS.proxy!, opts: { nodeName: c.node.name } },
        ]
      : [];
    // A server's actors speak to its own nats-server only, never to one the NATS cluster told them
    // of: when it dies, this process restarts it and they reconnect. So each store replica stays
    // beside its own server, which is how a replicated bucket's single writer is found
    // (actors/store/kv-writer.ts).
    // Under a new JetStream identity, this server's copies start empty: its actors start once the
    // copies have caught up, so that the watches they open are not served from an empty copy
    // (JetStream places a watch's consumer on any replica of the stream, current or not).
    if (fresh && settling && !(await settling.settled(60_000))) log.warn("starting the actors before every bucket's new copy caught up");
    // Its nats-server may be restarting (a rebuild of its copies) while they connect: a refused
    // connection is tried again (startHost stops what it started first), it does not end the server.
    startActors = () =>
      settle(
        "starting this server's actors",
        () => startHost({ natsUrl, credentials: (id) => credentialsOf(token, id, caFile), cluster: c.cluster, actors: [...plane, ...nodeActors], leaseDurationMs: c.leaseDurationMs, natsOptions: { ignoreClusterUpdates: true } }),
        60_000,
        isNatsUnreachable,
      );
    host = await startActors();
    if (clustered) {
      // Its own connection to its own nats-server (never one the NATS cluster told it of).
      // A connection made while the nats-server reloads its users (a node just joined) can be
      // refused once ("Authorization Violation"): asked again.
      watchNc = await settle("connecting the JetStream API watch", () => connectNats(natsUrl, `server/${c.name}/jetstream-watch`, storeCredentials, { ignoreClusterUpdates: true }), 15_000);
      jsApi.watch = watchJetStreamApi({
        nc: watchNc,
        // The meta leader's question, and each bucket's stream leader's.
        subjects: [JS_API_INFO, ...s.kvStreams().map(streamInfoSubject)],
        jitterMs: DEFAULT_JETSTREAM_WATCH.jitterMs,
        // Each other server in turn (one may be the frozen or cut-off one): any answer will do,
        // unless it says another replica of the stream is catching up.
        askElsewhere: async (subject) => {
          let heard: Ask = "unknown";
          for (const url of readPeers(dir)) {
            let peer = elsewhere.get(url);
            if (!peer || peer.isClosed()) {
              peer = await connectToPeer({ peers: [url], credentials: storeCredentials, timeoutMs: 2000 });
              if (!peer) continue;
              elsewhere.set(url, peer);
            }
            const reply = await askJetStreamReply(peer, DEFAULT_JETSTREAM_WATCH.timeoutMs, () => 0, subject);
            heard = reply.ask;
            if (heard !== "answered") continue;
            if (subject === JS_API_INFO) return heard;
            return othersCurrentIn(reply.data, (n) => serverOfNatsName(n) === c.name) ? heard : "unknown";
          }
          return heard;
        },
        // Started again at once: this server's own nats-server is what is wrong.
        restart: () => ((restartAtOnce = true), nats.current.stop()),
        log,
      });
    }
    log.info("server running", { nats: natsUrl, api: apiUrl, clustered, account: FLOTILLA_ACCOUNT, subjects: s.root });
  } catch (e) {
    if (timer) clearInterval(timer);
    await stopWatch();
    await host?.stop().catch(() => undefined);
    await nc.close().catch(() => undefined);
    await nats.stop();
    throw e;
  }
  const current = () => host!;
  let stopping: Promise<void> | undefined;
  return {
    natsUrl,
    sysUrl,
    apiUrl,
    get host() {
      return current();
    },
    next,
    stop(so = {}) {
      stopping ??= (async () => {
        // A stop signal reaches the nats-server too (one process group): it is not started again.
        nats.stopping();
        stopped = true;
        settleNext(undefined);
        joins?.unsubscribe();
        nodeJoins?.unsubscribe();
        if (timer) clearInterval(timer);
        await stopWatch();
        await actorsRestart;
        await current().stop();
        if (so.leave) {
          const registry = await existingRegistry(nc, c.cluster).catch(() => undefined);
          if (registry) await deleteServer(registry, c.name).catch(() => undefined);
          // The others remove this server from the JetStream meta group once it is gone.
          const others = registry ? (await listServers(registry).catch(() => [])).filter((r) => r.name !== c.name) : [];
          await nc.close().catch(() => undefined);
          await nats.stop();
          if (others.length) await leaveThrough(others.map((r) => r.natsUrl), storeCredentials, c.cluster, natsName, log);
          return;
        }
        await nc.close().catch(() => undefined);
        await nats.stop();
      })();
      return stopping;
    },
  };
}
