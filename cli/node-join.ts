/**
 * `flotilla node join <server> --token T`: a worker (kubelet + proxy) that finds every server
 * through the one it is given and connects to all of them, so it reconnects to another server
 * instead of fencing when one goes. `--leaf`: a local nats-server connects out to the servers as
 * a leaf node (for a worker behind NAT: no inbound port), and the actors connect to it.
 */
import type { ActorSpec } from "../runtime/actor.ts";
import type { Host } from "../runtime/host.ts";
import type { NatsServer } from "../runtime/nats-server.ts";
import { join } from "node:path";
import { writeFileSync, mkdirSync, rmSync } from "node:fs";
import { ACTORS } from "../actors/registry.ts";
import { startHost, connectNats } from "../runtime/host.ts";
import { startNatsServer, superviseNatsServer } from "../runtime/nats-server.ts";
import { StoreClient } from "../bus/store-client.ts";
import { isJoinToken, writeTokenFile } from "../runtime/cluster/token.ts";
import { trustServer } from "./server-run.ts";
import { DEFAULT_PORTS, JETSTREAM_DOMAIN } from "../runtime/cluster/server-config.ts";
import { requestNodeCredentials, ensureJoinSecret } from "../runtime/cluster/node-credentials.ts";
import { writeCredentials } from "../runtime/cluster/credentials.ts";
import { CliError } from "./errors.ts";

export interface NodeJoinOptions {
  server: string;
  token: string;
  name: string;
  cluster: string;
  engine: string;
  address?: string;
  leaf?: boolean;
  dataDir: string;
  labels: Record<string, string>;
}

export const nodeStatePath = (dataDir: string, name: string) => join(dataDir, "nodes", name, "node.json");

export async function nodeJoin(o: NodeJoinOptions): Promise<{ host: Host; leafServer?: { stop(): Promise<void> }; leave(): Promise<void> }> {
  if (!isJoinToken(o.token)) throw new CliError("--token is not a Flotilla join token (it starts with K10 or F1.)");
  const nodeDir = join(o.dataDir, "nodes", o.name);
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
  writeTokenFile(join(nodeDir, "token"), o.token);
  const hostPort = o.server.includes(":") ? o.server : `${o.server}:${DEFAULT_PORTS.nats}`;
  // The server proves it holds the CA named in the token before any password is sent.
  const caFile = await trustServer(hostPort, o.token, nodeDir);
  // The token buys this node's own credentials, nothing more (runtime/cluster/node-credentials.ts).
  let issued;
  try {
    issued = await requestNodeCredentials([`nats://${hostPort}`], o.token, o.cluster, o.name, ensureJoinSecret(join(nodeDir, "join-secret")), caFile);
  } catch (e) {
    throw new CliError(`cannot join through the server at ${hostPort}: ${(e as Error).message}`);
  }
  const creds = issued.credentials;
  writeCredentials(nodeDir, creds);
  // The server that answered is reachable at the address given, whatever it announces.
  const serverUrls = [...new Set([...issued.servers.nats, `nats://${hostPort}`])].join(",");
  let natsUrl = serverUrls;
  let leafServer: { stop(): Promise<void>; current: NatsServer } | undefined;
  if (o.leaf) {
    if (!issued.servers.leaf.length) throw new CliError("the servers announce no leaf-node address");
    const remotes = issued.servers.leaf.map((u) => u.replace(/^nats-leaf:\/\//, `nats-leaf://${creds.user}:${encodeURIComponent(creds.password)}@`));
    // The local leaf server has the node's user only; the servers hold the leaf connection to that user's permissions.
    leafServer = await superviseNatsServer(() =>
      startNatsServer({ dataDir: nodeDir, serverName: `leaf-${o.name}`, leafRemotes: remotes, leafRemoteCaFile: caFile, jetstreamDomain: JETSTREAM_DOMAIN, quiet: !process.env.FLOTILLA_NATS_LOG, users: [{ user: creds.user, password: creds.password }] }),
    );
    natsUrl = leafServer.current.url;
  }
  // The local leaf server listens on loopback only, without TLS; the servers are verified with the CA.
  const actorCreds = o.leaf ? { user: creds.user, password: creds.password } : creds;
  const actors: ActorSpec[] = [
    { def: ACTORS.kubelet!, opts: { nodeName: o.name, engine: o.engine, labels: o.labels, dataDir: nodeDir, ...(o.address ? { hostIP: o.address } : {}) } },
    { def: ACTORS.proxy!, opts: { nodeName: o.name } },
  ];
  const host = await startHost({ natsUrl, credentials: () => actorCreds, cluster: o.cluster, actors });
  writeFileSync(nodeStatePath(o.dataDir, o.name), JSON.stringify({ pid: process.pid, name: o.name, natsUrl: serverUrls, leaf: !!o.leaf }, null, 2) + "\n");
  return {
    host,
    leafServer,
    // Leaving: the Node object is deleted (its pods go to other nodes), then everything stops.
    async leave() {
      const nc = await connectNats(natsUrl, `node-leave/${o.name}`, actorCreds, { maxReconnectAttempts: 0, timeout: 5000 });
      await host.stop();
      await new StoreClient(nc, o.cluster, undefined, { asNode: o.name }).delete("nodes", undefined, o.name).catch(() => undefined);
      await nc.close();
      await leafServer?.stop();
      rmSync(nodeStatePath(o.dataDir, o.name), { force: true });
    },
  };
}
