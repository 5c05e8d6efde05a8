/**
 * `flotilla up --servers N`: the same N-server cluster `flotilla server` builds across machines,
 * on this machine: servers on 127.0.0.2, 127.0.0.3, … (loopback aliases need no setup), each in
 * its own process group with its data dir in `<data-dir>/servers/<name>/`, and the nodes in this
 * process, connected to every server.
 */
import type { ActorSpec } from "../runtime/actor.ts";
import type { Host } from "../runtime/host.ts";
import type { ServerProcessSpec } from "../runtime/cluster/processes.ts";
import type { EngineChoice } from "./up.ts";
import { mkdirSync, existsSync, copyFileSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { startHost, installSignalHandlers } from "../runtime/host.ts";
import { freePorts, portAccepts } from "../runtime/nats-server.ts";
import { ACTORS } from "../actors/registry.ts";
import { writeKubeconfig } from "../actors/api-server/kubeconfig.ts";
import { ensureTokens } from "../actors/api-server/tokens.ts";
import { ensureAdminClientCert, ensurePki } from "../actors/api-server/certs.ts";
import { ENCRYPTION_CONFIG_FILE, ensureEncryptionConfig } from "../actors/store/encryption-config.ts";
import { ensureTokenFile, writeTokenFile, withCaHash, caHashOf } from "../runtime/cluster/token.ts";
import { spawnServer, signalServer, alive } from "../runtime/cluster/processes.ts";
import { readServerState, readServerConfig, readPids, DEFAULT_PORTS } from "../runtime/cluster/server-config.ts";
import { migrateSingleServer } from "../runtime/cluster/migrate.ts";
import { readState, writeState, isAlive, kubeconfigPath } from "./config.ts";
import type { Credentials } from "../runtime/cluster/credentials.ts";
import { credentialsOf, writeCredentials } from "../runtime/cluster/credentials.ts";
import { requestNodeCredentials, ensureJoinSecret } from "../runtime/cluster/node-credentials.ts";
import { DEFAULT_CLUSTER } from "../bus/subjects.ts";

export interface UpServersOptions {
  dataDir: string;
  servers: number;
  nodes: number;
  engine: EngineChoice;
  /** api-server port on every server (0 = a free one each). */
  port: number;
  /** NATS client port on every server (default 4222; 0 = a free one each). */
  natsPort?: number;
  cluster?: string;
  quiet?: boolean;
  handleSignals?: boolean;
  leaseDurationMs?: number;
  /** The servers' addresses (default 127.0.0.2, 127.0.0.3, …); ports are then the defaults. */
  addresses?: string[];
  /** A command each server runs under (e.g. `ip netns exec <ns>`), by server index. */
  prefix?: (i: number) => string[];
}

export interface ServerHandle {
  name: string;
  dir: string;
  address: string;
  spec: ServerProcessSpec;
  apiUrl: string;
  natsUrl: string;
  pgid: number;
}

export interface RunningServers {
  servers: ServerHandle[];
  /** Every server's NATS URL, comma-separated (what nodes and the CLI connect with). */
  natsUrl: string;
  apiUrl: string;
  kubeconfig: string;
  adminToken: string;
  /** The cluster CA every NATS client verifies the servers with. */
  caFile: string;
  /** The join token with the CA's hash (`K10<hash>::F1.…`): what workers join with; passwords derive from it as from the secret alone. */
  token: string;
  nodes: string[];
  host: Host;
  /** Starts a server again after it died (same data dir, same addresses). */
  restart(name: string): Promise<void>;
  stop(): Promise<void>;
}

export const serverAddress = (i: number) => `127.0.0.${i + 2}`;
export const serverName = (i: number) => `server-${String.fromCharCode(97 + i)}`;

async function waitUntil(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, failFast?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    const why = failFast?.();
    if (why) throw new Error(`${what}: ${why}`);
    if (Date.now() > deadline) throw new Error(`${what}: not done in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").slice(-4).join(" | ") : "";
}

export async function upServers(o: UpServersOptions): Promise<RunningServers> {
  const say = (s: string) => {
    if (!o.quiet) process.stdout.write(s + "\n");
  };
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(o.dataDir, 0o700);
  const prev = readState(o.dataDir);
  if (prev && isAlive(prev.pid) && prev.pid !== process.pid) throw new Error(`a cluster from ${o.dataDir} is already running (pid ${prev.pid}); stop it with \`flotilla down\``);
  const cluster = o.cluster ?? prev?.cluster ?? DEFAULT_CLUSTER;
  const token = ensureTokenFile(join(o.dataDir, "token"));
  // An old single-server data dir: its objects are carried into the new servers.
  const migrated = await migrateSingleServer(o.dataDir, cluster);
  if (migrated) say(`• upgrading the single-server data in ${o.dataDir}: ${migrated.objects} object(s) carried over`);
  const tokens = ensureTokens(o.dataDir);
  const n = o.servers;
  const specs: ServerProcessSpec[] = [];
  for (let i = 0; i < n; i++) {
    const address = o.addresses?.[i] ?? serverAddress(i);
    const dir = join(o.dataDir, "servers", serverName(i));
    // Addresses of other network namespaces cannot be probed from here: the default ports then.
    const [p1, p2, p3, p4] = o.addresses ? [DEFAULT_PORTS.nats, DEFAULT_PORTS.route, DEFAULT_PORTS.leaf, DEFAULT_PORTS.api] : ((await freePorts(address, 4)) as [number, number, number, number]);
    const ports = readServerConfig(dir)?.ports ??
      (o.natsPort === 0
        ? { nats: p1, route: p2, leaf: p3, api: o.port === 0 ? p4 : o.port }
        : { nats: o.natsPort ?? DEFAULT_PORTS.nats, route: DEFAULT_PORTS.route, leaf: DEFAULT_PORTS.leaf, api: o.port === 0 ? p4 : o.port });
    specs.push({ dir, name: serverName(i), address, token, cluster, ports, peers: [], init: i === 0, leaseDurationMs: o.leaseDurationMs, ...(o.prefix ? { prefix: o.prefix(i) } : {}) });
  }
  for (const s of specs) s.peers = specs.filter((p) => p !== s).map((p) => `${p.address}:${p.ports.route}`);
  // Every server starts with the cluster's CA and tokens (kept from an earlier run or a
  // single-server dir, else made here): their routes run over TLS from the first start.
  const first = specs[0]!;
  mkdirSync(join(o.dataDir, "pki"), { recursive: true, mode: 0o700 });
  for (const f of ["pki/ca.crt", "pki/ca.key", "tokens.csv"]) {
    if (!existsSync(join(o.dataDir, f)) && existsSync(join(first.dir, f))) copyFileSync(join(first.dir, f), join(o.dataDir, f));
  }
  ensurePki(o.dataDir);
  ensureEncryptionConfig(o.dataDir);
  // Every NATS client verifies the servers against the CA; the token names its hash (docs/ha.md).
  const caFile = join(o.dataDir, "pki", "ca.crt");
  const joinToken = withCaHash(token, caHashOf(readFileSync(caFile, "utf8")));
  writeTokenFile(join(o.dataDir, "token"), joinToken);
  for (const s of specs) {
    mkdirSync(join(s.dir, "pki"), { recursive: true, mode: 0o700 });
    for (const f of ["pki/ca.crt", "pki/ca.key", "tokens.csv", ENCRYPTION_CONFIG_FILE]) {
      if (!existsSync(join(s.dir, f))) copyFileSync(join(o.dataDir, f), join(s.dir, f));
    }
  }
  if (migrated) copyFileSync(migrated.dumpPath, join(first.dir, "import.json"));
  const t0 = Date.now();
  if (!o.quiet) process.stdout.write(`• starting ${n} servers on ${specs.map((s) => s.address).join(", ")} … `);
  const handles: ServerHandle[] = [];
  const start = (s: ServerProcessSpec): ServerHandle => {
    rmSync(join(s.dir, "state.json"), { force: true });
    const child = spawnServer(s);
    return { name: s.name, dir: s.dir, address: s.address, spec: s, apiUrl: `https://${s.address}:${s.ports.api}`, natsUrl: `nats://${s.address}:${s.ports.nats}`, pgid: child.pid! };
  };
  const ready = async (h: ServerHandle) => {
    await waitUntil(
      `server ${h.name}`,
      async () => readServerState(h.dir) !== undefined && (await portAccepts(h.address, h.spec.ports.api)),
      120_000,
      () => (alive(h.pgid) ? undefined : `exited: ${tail(join(h.dir, "server.log"))}`),
    );
  };
  for (const s of specs) handles.push(start(s));
  try {
    await Promise.all(handles.map(ready));
  } catch (e) {
    for (const h of handles) signalServer(h.dir, "SIGKILL", h.pgid);
    throw e;
  }
  if (!o.quiet) process.stdout.write(`done (${Date.now() - t0} ms)\n`);
  const natsUrl = handles.map((h) => h.natsUrl).join(",");
  const nodes = Array.from({ length: o.nodes }, (_, i) => `node-${i + 1}`);
  const nodeActors: ActorSpec[] = nodes.flatMap((nodeName) => [
    { def: ACTORS.kubelet!, opts: { nodeName, engine: o.engine, dataDir: join(o.dataDir, "nodes", nodeName), stopPodsOnExit: true } },
    { def: ACTORS.proxy!, opts: { nodeName } },
  ]);
  // Nodes get their own credentials the way workers do (node join), then connect to every server:
  // when one goes, they reconnect to another instead of fencing.
  const nodeCreds = new Map<string, Credentials>();
  try {
    for (const nodeName of nodes) {
      const secret = ensureJoinSecret(join(o.dataDir, "nodes", nodeName, "join-secret"));
      nodeCreds.set(nodeName, (await requestNodeCredentials(handles.map((h) => h.natsUrl), token, cluster, nodeName, secret, caFile)).credentials);
    }
  } catch (e) {
    for (const h of handles) signalServer(h.dir, "SIGKILL", h.pgid);
    throw e;
  }
  const adminCreds = writeCredentials(o.dataDir, credentialsOf(token, { role: "admin" }, caFile));
  const host = await startHost({ natsUrl, credentials: (id) => (id.role === "node" ? nodeCreds.get(id.node) : undefined), cluster, actors: nodeActors });
  if (!existsSync(join(o.dataDir, "tokens.csv"))) copyFileSync(join(first.dir, "tokens.csv"), join(o.dataDir, "tokens.csv"));
  const apiUrl = handles[0]!.apiUrl;
  const kubeconfig = kubeconfigPath(o.dataDir);
  writeKubeconfig(kubeconfig, {
    server: apiUrl,
    servers: handles.map((h) => h.apiUrl),
    caPem: readFileSync(join(first.dir, "pki/ca.crt"), "utf8"),
    token: "",
    clientCert: ensureAdminClientCert(o.dataDir, first.dir),
    nats: { url: natsUrl, cluster, dataDir: o.dataDir, creds: adminCreds },
  });
  writeState(o.dataDir, {
    pid: process.pid,
    natsUrl,
    natsPort: specs[0]!.ports.nats,
    apiUrl,
    apiPort: specs[0]!.ports.api,
    cluster,
    engine: o.engine,
    nodes,
    kubeconfig,
    startedAt: new Date().toISOString(),
    servers: handles.map((h) => h.dir),
    apiUrls: handles.map((h) => h.apiUrl),
  });
  // The servers are separate process groups: this process stays until it is told to stop them.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let stopping: Promise<void> | undefined;
  const running: RunningServers = {
    servers: handles,
    natsUrl,
    apiUrl,
    kubeconfig,
    adminToken: tokens.admin,
    caFile,
    token: joinToken,
    nodes,
    host,
    async restart(name) {
      const i = handles.findIndex((h) => h.name === name);
      const h = handles[i]!;
      const next = start({ ...h.spec, init: false });
      handles[i] = next;
      await ready(next);
    },
    stop() {
      stopping ??= (async () => {
        say("stopping the cluster …");
        clearInterval(keepAlive);
        await host.stop();
        for (const h of handles) signalServer(h.dir, "SIGTERM", h.pgid);
        await waitUntil("servers stopping", () => handles.every((h) => !alive(h.pgid)), 20_000).catch(() => {
          for (const h of handles) signalServer(h.dir, "SIGKILL", h.pgid);
        });
        const s = readState(o.dataDir);
        if (s?.pid === process.pid) rmSync(join(o.dataDir, "cluster.json"), { force: true });
        say("stopped; the cluster's state is kept in " + o.dataDir);
      })();
      return stopping;
    },
  };
  if (o.handleSignals) installSignalHandlers(() => running.stop());
  say("");
  say(`Flotilla is up: ${n} servers, ${nodes.length} node(s), ${o.engine} engine, cluster "${cluster}".`);
  for (const h of handles) say(`  ${h.name}:  API ${h.apiUrl}   NATS ${h.natsUrl}   (data ${h.dir})`);
  say(`  kubeconfig:  ${kubeconfig}  (names ${apiUrl}; see docs/ha.md for a load-balanced address)`);
  say(`  join token:  ${join(o.dataDir, "token")}`);
  say(n >= 3 ? "  store: every bucket has 3 replicas (one server can be lost)" : "  store: NOT fault-tolerant (fewer than 3 servers: buckets have 1 replica)");
  say("");
  say("`flotilla status` shows every server, the leaders and the replicas; Ctrl-C stops everything.");
  return running;
}

/** SIGTERMs every server of these data dirs that still runs (SIGKILL after 20 s); how many there were. */
export async function stopServerDirs(dirs: string[]): Promise<number> {
  const live = dirs.filter((d) => readPids(d).some(alive));
  for (const d of live) signalServer(d, "SIGTERM");
  await waitUntil("servers stopping", () => live.every((d) => !readPids(d).some(alive)), 20_000).catch(() => {
    for (const d of live) signalServer(d, "SIGKILL");
  });
  return live.length;
}
