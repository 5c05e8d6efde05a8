/**
 * The kubelet's pod networking (`network: "pod"`): decides whether it can be had (root, network
 * namespaces for the process engine; the Docker engine brings its own) or falls back to loopback, and
 * then keeps the node side in step with the cluster — the node bridge (process engine) or the node's
 * Docker bridge network (engines/docker-network.ts) once the node IPAM controller has written this Node's
 * `spec.podCIDR`, and routes to every other node's podCIDR as nodes come and go: host-gw via that
 * node's InternalIP when it is on a directly connected subnet, through the VXLAN device otherwise
 * (pod-network-routes.ts). Each pod's resolv.conf follows from `dns`.
 *
 * @example
 *   const net = await nodeNetwork(ctx, { nodeName, engine: "process", network: "pod", hostIP }, log);
 *   const engine = createEngine({ …, network: net.pods });
 *   await net.start(() => resyncPods());
 */
import type { ActorContext } from "../../runtime/actor.ts";
import type { Node } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { NodeFacts } from "./node-status.ts";
import type { DnsSettings } from "./resolv-conf.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Informer } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { commandRunner } from "../../runtime/command.ts";
import { ProcessPodNetwork } from "./engines/process-netns.ts";
import { DockerPodNetwork } from "./engines/docker-network.ts";
import Docker from "dockerode";
import { defaultDataDir } from "./engines/process.ts";
import { parseResolvConf } from "./resolv-conf.ts";

export const NetworkMode = { loopback: "loopback", pod: "pod" } as const;
export type NetworkMode = (typeof NetworkMode)[keyof typeof NetworkMode];

export interface NodeNetworkOptions {
  nodeName: string;
  engine: string;
  network?: NetworkMode;
  dataDir?: string;
  hostIP?: string;
  /** The cluster's pod range (default 10.244.0.0/16). */
  clusterCIDR?: string;
  /** The cluster DNS addresses written into pods' resolv.conf (default 10.96.0.10). */
  clusterDNS?: string[];
  clusterDomain?: string;
  /** The node bridge's name (default `flt0`; nodes sharing one machine need one each). */
  podBridge?: string;
  /** The node's side (bridge, routes, masquerade) lives in this network namespace (test hosts). */
  nodeNetns?: string;
  /** The resolv.conf the node's own resolvers come from (default /etc/resolv.conf). */
  hostResolvConf?: string;
  /** Docker engine: the dockerd socket (default the standard one). */
  dockerSocket?: string;
}

export interface NodeNetwork {
  /** For the process engine: pods in namespaces of their own; absent in loopback mode. */
  pods?: ProcessPodNetwork;
  /** For the Docker engine: the node's bridge network; absent in loopback mode. */
  docker?: DockerPodNetwork;
  dns?: DnsSettings;
  /** What the Node reports; absent when pod networking was not asked for. */
  facts?: NodeFacts["network"];
  /** Starts following the Nodes; `changed` runs when the node side became ready or changed. */
  start(changed: () => void): Promise<void>;
  stop(): Promise<void>;
}

/** Why pod networking cannot be had here, or undefined when it can. */
export async function podNetworkProblem(engine: string, nodeNetns?: string): Promise<string | undefined> {
  if (engine !== "process" && engine !== "docker") return `pod networking is built for the process engine and the Docker engine, not ${engine}`;
  if (process.getuid?.() !== 0) return "network namespaces need root";
  const run = commandRunner();
  if (engine === "process" && (await run("ip", ["netns", "list"])).code !== 0) return "`ip netns` is not available";
  if ((await commandRunner(nodeNetns)("iptables", ["-w", "5", "-t", "nat", "-S", "POSTROUTING"])).code !== 0) return "iptables cannot be programmed";
  return undefined;
}

/** The address a peer node is routed at: its first InternalIP. */
const internalIP = (n: Node) => n.status?.addresses?.find((a) => a.type === "InternalIP")?.address;

const SYNC = "network";
/** How long an unchanged set of peers goes without the routes being applied again. */
const RESYNC_MS = 60_000;

export async function nodeNetwork(ctx: ActorContext, o: NodeNetworkOptions, log: Logger): Promise<NodeNetwork> {
  const idle: NodeNetwork = { start: async () => undefined, stop: async () => undefined };
  if ((o.network ?? NetworkMode.loopback) === NetworkMode.loopback) return idle;
  const problem = await podNetworkProblem(o.engine, o.nodeNetns);
  if (problem) {
    log.warn("pod networking is not available: pods share the host's network (loopback mode)", { reason: problem });
    return { ...idle, facts: { mode: "loopback", message: `loopback fallback: ${problem}; pods share the host's network` } };
  }
  const stateDir = join(o.dataDir ?? defaultDataDir(), "network", o.nodeName);
  const docker =
    o.engine === "docker"
      ? new DockerPodNetwork({ docker: new Docker(o.dockerSocket ? { socketPath: o.dockerSocket } : {}), cluster: ctx.cluster, nodeName: o.nodeName, stateDir, clusterCIDR: o.clusterCIDR })
      : undefined;
  const processPods = docker ? undefined : new ProcessPodNetwork({ stateDir, clusterCIDR: o.clusterCIDR, bridge: o.podBridge, nodeNetns: o.nodeNetns });
  const pods = (docker ?? processPods)!;
  const bridgeName = docker ? `${docker.bridge} (Docker network ${docker.name})` : (o.podBridge ?? "flt0");
  let host: DnsSettings["host"];
  try {
    host = parseResolvConf(readFileSync(o.hostResolvConf ?? "/etc/resolv.conf", "utf8"));
  } catch {
    host = { nameservers: [], searches: [], options: [] };
  }
  const dns: DnsSettings = { clusterDNS: o.clusterDNS ?? ["10.96.0.10"], clusterDomain: o.clusterDomain ?? "cluster.local", host };
  const facts: NonNullable<NodeFacts["network"]> = { mode: "pod", message: "pod networking: waiting for a podCIDR from the node-ipam-controller", waiting: true };
  const nodes = new Informer<Node>(ctx.nc, ctx.cluster, { resource: "nodes", log: log.child({ informer: "nodes" }) });
  let changed = () => undefined as void;
  let synced = { key: "", at: 0 };
  const sync = async () => {
    const cidr = nodes.get(undefined, o.nodeName)?.spec?.podCIDR;
    if (cidr && pods.podCIDR !== cidr) {
      await pods.ready(cidr);
      facts.message = `pod networking: pods get addresses from ${cidr} on bridge ${bridgeName} (gateway ${pods.gateway})`;
      facts.waiting = false;
      log.info("pod network ready", { podCIDR: cidr, gateway: pods.gateway });
      changed();
    }
    // Nodes on this machine (the same address) share its routing table already.
    const peers = nodes
      .list()
      .filter((n) => n.metadata.name !== o.nodeName && n.spec?.podCIDR)
      .map((n) => ({ podCIDR: n.spec!.podCIDR!, address: internalIP(n) ?? "" }))
      .filter((p) => p.address && p.address !== o.hostIP && !p.address.startsWith("127."))
      .sort((x, y) => x.podCIDR.localeCompare(y.podCIDR));
    // Node heartbeats update the Nodes every few seconds; the routes change only with the peers
    // (re-applied at least every RESYNC_MS, which also repairs routes removed by hand).
    const key = `${pods.podCIDR}|${JSON.stringify(peers)}`;
    if (key === synced.key && ctx.now() - synced.at < RESYNC_MS) return;
    await pods.syncRoutes(peers);
    if (key !== synced.key) log.info("routes to the other nodes' pods in place", { peers: peers.map((p) => `${p.podCIDR} at ${p.address}`) });
    synced = { key, at: ctx.now() };
  };
  const queue = new WorkQueue(sync, { log, baseDelayMs: 200, maxDelayMs: 5000 });
  nodes.addHandlers({ add: () => queue.add(SYNC), update: () => queue.add(SYNC), delete: () => queue.add(SYNC) });
  return {
    pods: processPods,
    docker,
    dns,
    facts,
    async start(onChange) {
      changed = onChange;
      await nodes.start();
      queue.add(SYNC);
      await queue.idle();
    },
    async stop() {
      nodes.stop();
      await queue.shutdown();
      await pods.close().catch((e) => log.warn("could not remove the node's pod network", { error: String(e) }));
    },
  };
}
