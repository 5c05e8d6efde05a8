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
import { openRegistry, listServers } from "../runtime/cluster/registry.ts";
import { natsPasswords } from "../runtime/cluster/server.ts";
import { DEFAULT_PORTS } from "../runtime/cluster/server-config.ts";
import { userUrl } from "./server-run.ts";
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

/** Every server's NATS URL and leaf URL, asked from one of them. */
async function findServers(server: string, token: string, cluster: string): Promise<{ nats: string[]; leaf: string[] }> {
  const hostPort = server.includes(":") ? server : `${server}:${DEFAULT_PORTS.nats}`;
  let nc;
  try {
    nc = await connectNats(userUrl(`nats://${hostPort}`, token), "node-join", undefined, { maxReconnectAttempts: 0, timeout: 5000 });
  } catch (e) {
    throw new CliError(`cannot reach the server at ${hostPort} with this token: ${(e as Error).message}`);
  }
  try {
    const servers = await listServers(await openRegistry(nc, cluster));
    if (!servers.length) return { nats: [`nats://${hostPort}`], leaf: [] };
    return { nats: servers.map((s) => s.natsUrl), leaf: servers.flatMap((s) => (s.leafUrl ? [s.leafUrl] : [])) };
  } finally {
    await nc.close();
  }
}

export async function nodeJoin(o: NodeJoinOptions): Promise<{ host: Host; leafServer?: { stop(): Promise<void> }; leave(): Promise<void> }> {
  if (!isJoinToken(o.token)) throw new CliError("--token is not a Flotilla join token (it starts with F1.)");
  const nodeDir = join(o.dataDir, "nodes", o.name);
  mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
  writeTokenFile(join(nodeDir, "token"), o.token);
  const found = await findServers(o.server, o.token, o.cluster);
  let natsUrl = userUrl(found.nats.join(","), o.token);
  let leafServer: { stop(): Promise<void>; current: NatsServer } | undefined;
  if (o.leaf) {
    if (!found.leaf.length) throw new CliError("the servers announce no leaf-node address");
    const pw = natsPasswords(o.token).user;
    const remotes = found.leaf.map((u) => u.replace(/^nats-leaf:\/\//, `nats-leaf://flotilla:${encodeURIComponent(pw)}@`));
    leafServer = await superviseNatsServer(() => startNatsServer({ dataDir: nodeDir, serverName: `leaf-${o.name}`, leafRemotes: remotes, quiet: true }));
    natsUrl = leafServer.current.url;
  }
  const actors: ActorSpec[] = [
    { def: ACTORS.kubelet!, opts: { nodeName: o.name, engine: o.engine, labels: o.labels, dataDir: nodeDir, ...(o.address ? { hostIP: o.address } : {}) } },
    { def: ACTORS.proxy!, opts: { nodeName: o.name } },
  ];
  const host = await startHost({ natsUrl, cluster: o.cluster, actors });
  writeFileSync(nodeStatePath(o.dataDir, o.name), JSON.stringify({ pid: process.pid, name: o.name, natsUrl: found.nats.join(","), leaf: !!o.leaf }, null, 2) + "\n");
  return {
    host,
    leafServer,
    // Leaving: the Node object is deleted (its pods go to other nodes), then everything stops.
    async leave() {
      const nc = await connectNats(natsUrl, `node-leave/${o.name}`, undefined, { maxReconnectAttempts: 0, timeout: 5000 });
      await host.stop();
      await new StoreClient(nc, o.cluster).delete("nodes", undefined, o.name).catch(() => undefined);
      await nc.close();
      await leafServer?.stop();
      rmSync(nodeStatePath(o.dataDir, o.name), { force: true });
    },
  };
}
