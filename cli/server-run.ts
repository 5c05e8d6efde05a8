/** Turns `flotilla server` flags into a server config (finding the cluster through --join) and runs it. */
import type { ServerConfig } from "../runtime/cluster/server-config.ts";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { runServer } from "../runtime/cluster/server.ts";
import { credentialsOf, passwordOf, sysPassword, nodeTokenOf } from "../runtime/cluster/credentials.ts";
import { writeFileAtomic } from "../runtime/atomic-file.ts";
import { readServerConfig, readServerState, tokenPath, DEFAULT_PORTS } from "../runtime/cluster/server-config.ts";
import { readTokenFile, writeTokenFile, parseToken, withCaHash, caHashOf } from "../runtime/cluster/token.ts";
import { fetchClusterCa } from "../runtime/cluster/ca-fetch.ts";
import { openRegistry, existingRegistry, listServers, deleteServer, BOOTSTRAP_KEY } from "../runtime/cluster/registry.ts";
import { open, writeLocal } from "../runtime/cluster/bootstrap.ts";
import { natsIdentitiesOf, removeServerPeer } from "../runtime/cluster/leave.ts";
import { settle } from "../runtime/cluster/settle.ts";
import { requestJoin } from "../runtime/cluster/join.ts";
import { connectNats } from "../runtime/host.ts";
import { readState } from "./config.ts";
import { CliError } from "./errors.ts";
import { parseLeaseMs } from "./actor-options.ts";

const say = (s: string) => process.stdout.write(s + "\n");

export interface ServeFlags {
  address?: string;
  join?: string;
  token?: string;
  dataDir: string;
  name?: string;
  cluster?: string;
  natsPort?: string;
  routePort?: string;
  leafPort?: string;
  apiPort?: string;
  peer?: string[];
  node?: string | boolean;
  engine?: string;
  leaseMs?: string;
  /** false: never create the CA and tokens here, fetch them from the store (servers after the first). */
  init?: boolean;
  defaultName: string;
  defaultCluster: string;
}

/** A NATS URL with one of the cluster's users' credentials (derived from the join token). */
export function userUrl(natsUrl: string, token: string, user: "admin" | "store" | "sys" = "admin"): string {
  const pw = user === "sys" ? sysPassword(token) : passwordOf(token, { role: user });
  return natsUrl
    .split(",")
    .map((u) => u.replace(/^nats:\/\/(?:[^@/]*@)?/, `nats://${user}:${encodeURIComponent(pw)}@`))
    .join(",");
}

/** The cluster CA file of a data dir (`pki/ca.crt`), which every NATS client verifies the servers with. */
export const caFileOf = (dir: string) => join(dir, "pki", "ca.crt");

/**
 * The CA of the server at `hostPort`, checked against the token's CA hash before anything else is
 * sent (runtime/cluster/ca-fetch.ts), written to `<dir>/pki/ca.crt`. A token without the hash
 * (from before client TLS) is accepted only when the data dir already holds the CA.
 */
export async function trustServer(hostPort: string, token: string, dir: string): Promise<string> {
  const caHash = parseToken(token)?.caHash;
  const caFile = caFileOf(dir);
  if (!caHash) {
    if (existsSync(caFile)) return caFile;
    throw new CliError(`this token carries no CA hash, so the server at ${hostPort} cannot be verified: use the token the server prints at start (its <data-dir>/token or node-token, which begin with K10)`);
  }
  if (existsSync(caFile) && caHashOf(readFileSync(caFile, "utf8")) === caHash) return caFile;
  let pem: string;
  try {
    pem = await fetchClusterCa(hostPort, caHash);
  } catch (e) {
    throw new CliError(`the server at ${hostPort} is not trusted: ${(e as Error).message}`);
  }
  mkdirSync(join(dir, "pki"), { recursive: true, mode: 0o700 });
  writeFileAtomic(caFile, pem);
  return caFile;
}

/** The route addresses of every server the cluster at `joinHost` knows; tells it this server's route. */
async function discoverPeers(joinHost: string, token: string, cluster: string, me: { name: string; route: string }, dir: string): Promise<string[]> {
  const hostPort = joinHost.includes(":") ? joinHost : `${joinHost}:${DEFAULT_PORTS.nats}`;
  const caFile = await trustServer(hostPort, token, dir);
  let nc;
  try {
    nc = await connectNats(userUrl(`nats://${hostPort}`, token, "store"), "server-join", undefined, { maxReconnectAttempts: 0, timeout: 5000, tls: { caFile } });
  } catch (e) {
    throw new CliError(`cannot reach the server to join at ${hostPort} with this token: ${(e as Error).message}`);
  }
  try {
    const reg = await openRegistry(nc, cluster);
    const servers = await listServers(reg);
    if (!servers.length) throw new CliError(`the server at ${hostPort} has no servers' registry for cluster "${cluster}"`);
    // The cluster CA's key and the tokens before this server's nats-server starts: its routes run over TLS.
    const sealed = await reg.get(BOOTSTRAP_KEY);
    if (!sealed || sealed.operation !== "PUT" || !sealed.value.length) throw new CliError(`the server at ${hostPort} has no bootstrap data yet; try again in a few seconds`);
    const bootstrap = open(token, sealed.string());
    if (caHashOf(bootstrap.caCert) !== caHashOf(readFileSync(caFile, "utf8"))) throw new CliError(`the bootstrap data of the server at ${hostPort} names another CA than the one it presents`);
    writeLocal(dir, bootstrap);
    const reply = await requestJoin(nc, cluster, me);
    if (!reply.ok) throw new CliError(`the cluster refused the join: ${reply.error.message}`);
    if (reply.converting) say(`the server at ${hostPort} ran alone: it restarts clustered with this one (a pause of a few seconds)`);
    return servers.map((s) => s.route);
  } finally {
    await nc.close();
  }
}

export async function serveFromFlags(f: ServeFlags): Promise<void> {
  const dir = f.dataDir;
  const prev = readServerConfig(dir);
  const prevState = readServerState(dir);
  if (prevState && prevState.pid !== process.pid && isRunning(prevState.pid)) throw new CliError(`a server from ${dir} is already running (pid ${prevState.pid})`);
  let token: string;
  if (f.token) {
    const parsed = parseToken(f.token);
    if (!parsed) throw new CliError("--token is not a Flotilla join token (it starts with K10 or F1.)");
    // The token file keeps the form with the CA hash once this server has the CA (below).
    token = parsed.secret;
    if (!existsSync(tokenPath(dir)) || readTokenFile(tokenPath(dir)).secret !== token) writeTokenFile(tokenPath(dir), f.token.trim());
  } else if (existsSync(tokenPath(dir))) token = readTokenFile(tokenPath(dir)).secret;
  else if (f.join) throw new CliError("--join needs --token (printed by the first server, in its <data-dir>/token)");
  else token = readTokenFile(tokenPath(dir)).secret;
  const cluster = f.cluster ?? prev?.cluster ?? f.defaultCluster;
  const address = prev?.address ?? f.address ?? "127.0.0.1";
  if (prev && f.address && f.address !== prev.address) throw new CliError(`this data dir belongs to a server at ${prev.address}; its address cannot change`);
  const ports = prev?.ports ?? {
    nats: Number(f.natsPort ?? DEFAULT_PORTS.nats),
    route: Number(f.routePort ?? DEFAULT_PORTS.route),
    leaf: Number(f.leafPort ?? DEFAULT_PORTS.leaf),
    api: Number(f.apiPort ?? DEFAULT_PORTS.api),
  };
  const peers = new Set([...(prev?.peers ?? []), ...(f.peer ?? [])]);
  const name = prev?.name ?? f.name ?? f.defaultName;
  if (f.join && !prev) for (const p of await discoverPeers(f.join, f.token!, cluster, { name, route: `${address}:${ports.route}` }, dir)) peers.add(p);
  const nodeName = typeof f.node === "string" ? f.node : f.node ? (prev?.node?.name ?? f.name ?? f.defaultName) : undefined;
  const config: ServerConfig = {
    name,
    address,
    cluster,
    ports,
    peers: [...peers].filter((p) => p !== `${address}:${ports.route}`),
    node: nodeName ? { name: nodeName, engine: f.engine ?? "process" } : prev?.node,
    leaseDurationMs: parseLeaseMs(f.leaseMs) ?? prev?.leaseDurationMs,
  };
  const init = f.init !== false && !f.join;
  let s = await runServer({ dir, token, config, init });
  let n = 0;
  const onSignal = (leave: boolean) => {
    if (++n > 1) process.exit(130);
    const t = setTimeout(() => process.exit(1), 30_000);
    t.unref();
    void s.stop({ leave }).then(() => process.exit(0));
  };
  // A server that ran alone starts again clustered when the first other server joins.
  void (async () => {
    for (let next = await s.next; next; next = await s.next) {
      s = await runServer({ dir, token, config: next, init: true });
      say(`server ${next.name} is clustered now (routes: ${next.peers.join(", ")})`);
    }
  })().catch((e: Error) => {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  });
  process.on("SIGTERM", () => onSignal(false));
  process.on("SIGINT", () => onSignal(false));
  process.on("SIGUSR2", () => onSignal(true));
  say(`server ${config.name} is up: NATS ${s.natsUrl}, API ${s.apiUrl}`);
  // Workers get the node token (derived one-way): it lets them ask for their own node's credentials only.
  // Both tokens carry the CA's hash from now on (a data dir from before client TLS is upgraded here:
  // the secret, and so every password, stays the same).
  const caHash = caHashOf(readFileSync(caFileOf(dir), "utf8"));
  const fullToken = withCaHash(token, caHash);
  writeTokenFile(tokenPath(dir), fullToken);
  const nodeToken = withCaHash(nodeTokenOf(token), caHash);
  writeFileAtomic(join(dir, "node-token"), nodeToken + "\n", { mode: 0o600 });
  if (!prev && init) {
    say(`join token for servers (kept in ${tokenPath(dir)}):`);
    say(`  ${fullToken}`);
    say(`node token for workers (kept in ${join(dir, "node-token")}):`);
    say(`  ${nodeToken}`);
    say(`more servers: flotilla server --address <their ip> --join ${address}${ports.nats === DEFAULT_PORTS.nats ? "" : `:${ports.nats}`} --token <token>`);
    say(`workers:      flotilla node join ${address}${ports.nats === DEFAULT_PORTS.nats ? "" : `:${ports.nats}`} --token <node token>`);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** NATS URLs, token and CA file of a data dir: a server's own dir, or the dir of `flotilla up --servers`. */
export function clusterAccess(dataDir: string): { urls: string; token: string; cluster: string; caFile: string } {
  const st = readServerState(dataDir);
  const cfg = readServerConfig(dataDir);
  const up = readState(dataDir);
  const tp = tokenPath(dataDir);
  if (!existsSync(tp)) throw new CliError(`no join token in ${dataDir}`);
  const token = readTokenFile(tp).secret;
  const urls = up?.natsUrl ?? st?.natsUrl;
  if (!urls) throw new CliError(`no running server or cluster in ${dataDir}`);
  return { urls, token, cluster: up?.cluster ?? cfg?.cluster ?? "default", caFile: caFileOf(dataDir) };
}

export async function removeServer(dataDir: string, name: string): Promise<void> {
  const a = clusterAccess(dataDir);
  const creds = { ...credentialsOf(a.token, { role: "admin" }), caFile: a.caFile };
  const nc = await connectNats(a.urls, "server-remove", creds, { maxReconnectAttempts: 10, timeout: 5000 });
  try {
    // First out of the registry, while the meta group still counts the lost server: its streams
    // then still have their full peer sets, two of three alive.
    await settle(`removing ${name} from the servers' registry`, async () => deleteServer(await existingRegistry(nc, a.cluster), name), 60_000);
    // The node controller (the system account's only holder) takes it out of the meta group.
    for (const identity of await natsIdentitiesOf(nc, a.cluster, name)) await removeServerPeer(nc, a.cluster, identity, 30_000);
  } finally {
    await nc.close();
  }
}
