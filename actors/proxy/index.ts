/**
 * The proxy (one per node, not leader-elected): watches Services and Endpoints and makes every
 * service port reachable on its ClusterIP (a loopback address, so no packet rewriting), on the
 * node's address for NodePorts, and on the Docker bridge gateway for docker pods; connections are
 * forwarded round-robin (or ClientIP-sticky) to ready endpoints. See docs/proxy.md.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: proxy, opts: { nodeName: "n1" } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Endpoints, Node, Service } from "../../bus/resources.ts";
import type { ListenerSpec, NodeAddresses } from "./table.ts";
import type { EndpointSlice } from "../../bus/networking.ts";
import { SLICES_BY_SERVICE, slicesByService, endpointsView } from "../../bus/endpoint-view.ts";
import { Informer } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { Balancer } from "./balancer.ts";
import { desiredListeners, portConfigs, diffListeners } from "./table.ts";
import { TcpListener, BindResult } from "./tcp.ts";
import { UdpListener } from "./udp.ts";
import { KernelServices } from "./iptables.ts";
import { serviceRules } from "./iptables-rules.ts";

export interface ProxyOptions {
  nodeName: string;
  /** The node's address: NodePorts listen here (default 127.0.0.1). */
  nodeAddress?: string;
  /** Overrides where NodePorts bind (default nodeAddress). */
  bindAddress?: string;
  /** Extra addresses to serve service ports on; default: the Docker bridge gateway a docker node reports. */
  bridgeAddresses?: string[];
  /** How often a listener that could not bind is tried again (default 5000 ms). */
  rebindIntervalMs?: number;
  /**
   * `kernel`: Services as iptables DNAT rules (needs root; ClusterIPs from a routable service CIDR);
   * `userspace`: a listener per service port on loopback ClusterIPs; `auto` (default): `kernel`
   * when the node has a pod network (`clusterCIDR` given) and iptables can be programmed, else
   * `userspace`.
   */
  mode?: "kernel" | "userspace" | "auto";
  /** The cluster's pod range: traffic from outside it to a Service is masqueraded (kernel mode). */
  clusterCIDR?: string;
  /** The service CIDR (kernel mode): packets to it that no rule translated are rejected, never routed off the host. */
  serviceCIDR?: string;
  /** Program the rules inside this network namespace (test hosts); default the current one. */
  netns?: string;
}

const SYNC = "sync";

/** A docker node reports the bridge gateway (what containers reach the host at) among its non-loopback InternalIPs. */
export function bridgeAddressesOf(node: Node | undefined): string[] {
  if (!node || node.metadata.labels?.["flotilla.io/engine"] !== "docker") return [];
  return (node.status?.addresses ?? []).filter((a) => a.type === "InternalIP" && !a.address.startsWith("127.")).map((a) => a.address);
}

type Listener = TcpListener | UdpListener;

/** Kernel mode when asked, or (auto) when the node has a pod network and this process can program iptables. */
async function chooseMode(opts: ProxyOptions, kernel: KernelServices): Promise<"kernel" | "userspace"> {
  if (opts.mode === "kernel" || opts.mode === "userspace") return opts.mode;
  if (!opts.clusterCIDR || process.getuid?.() !== 0) return "userspace";
  return (await kernel.available()) ? "kernel" : "userspace";
}

export async function startProxy(ctx: ActorContext, opts: ProxyOptions): Promise<Actor & { listening(): string[]; mode: "kernel" | "userspace" }> {
  const log = ctx.log.child({ node: opts.nodeName });
  const rebindMs = opts.rebindIntervalMs ?? 5000;
  const balancers = new Map<string, Balancer>();
  const listeners = new Map<string, Listener>();
  /** Listeners that could not bind (another local proxy serves the address, or it does not exist here). */
  const blocked = new Map<string, BindResult>();

  const services = new Informer<Service>(ctx.nc, ctx.cluster, { resource: "services", log: log.child({ informer: "services" }) });
  const endpoints = new Informer<Endpoints>(ctx.nc, ctx.cluster, { resource: "endpoints", log: log.child({ informer: "endpoints" }) });
  const nodes = new Informer<Node>(ctx.nc, ctx.cluster, { resource: "nodes", filter: (n) => n.metadata.name === opts.nodeName, log: log.child({ informer: "nodes" }) });
  // A Service's endpoints come from its EndpointSlices, from its Endpoints only while it has none.
  const slices = new Informer<EndpointSlice>(ctx.nc, ctx.cluster, { resource: "endpointslices", indexers: { [SLICES_BY_SERVICE]: slicesByService }, log: log.child({ informer: "endpointslices" }) });
  const endpointsOf = (s: Service) => endpointsView(s, slices.byIndex(SLICES_BY_SERVICE, `${s.metadata.namespace}/${s.metadata.name}`), endpoints.get(s.metadata.namespace, s.metadata.name!));

  const addresses = (): NodeAddresses => ({
    nodeAddress: opts.bindAddress ?? opts.nodeAddress ?? "127.0.0.1",
    bridgeAddresses: opts.bridgeAddresses ?? bridgeAddressesOf(nodes.get(undefined, opts.nodeName)),
  });
  const deps = { balancer: (k: string) => balancers.get(k), now: ctx.now, log };

  const open = async (spec: ListenerSpec): Promise<void> => {
    const l: Listener = spec.protocol === "UDP" ? new UdpListener(spec, deps) : new TcpListener(spec, deps);
    const r = await l.listen();
    if (r === BindResult.Ok) {
      listeners.set(spec.id, l);
      if (blocked.delete(spec.id)) log.info("listener bound after all", { listener: spec.id });
      else log.debug("listening", { listener: spec.id, service: spec.service });
      return;
    }
    if (!blocked.has(spec.id)) {
      log.warn(
        r === BindResult.InUse
          ? "address already in use (another proxy on this host serves it?): watching, will retry"
          : "address not available on this host: watching, will retry",
        { listener: spec.id, service: spec.service },
      );
    }
    blocked.set(spec.id, r);
  };

  const kernel = new KernelServices({ netns: opts.netns });
  let mode: "kernel" | "userspace" = "userspace";
  const syncKernel = async () => {
    const changed = await kernel.sync(serviceRules({ services: services.list(), endpointsOf, node: { name: opts.nodeName, clusterCIDR: opts.clusterCIDR, serviceCIDR: opts.serviceCIDR } }));
    if (changed) log.debug("service rules updated", { chains: changed });
  };

  const sync = async () => {
    if (mode === "kernel") return syncKernel();
    // Balancers first, so a listener never opens without its backends.
    const configs = portConfigs(services.list(), endpointsOf);
    const keep = new Set<string>();
    for (const c of configs) {
      keep.add(c.portKey);
      let b = balancers.get(c.portKey);
      if (!b) balancers.set(c.portKey, (b = new Balancer()));
      b.configure({ sessionAffinity: c.sessionAffinity, affinityTimeoutSeconds: c.affinityTimeoutSeconds });
      b.setBackends(c.backends);
    }
    for (const k of [...balancers.keys()]) if (!keep.has(k)) balancers.delete(k);

    const want = desiredListeners(services.list(), addresses());
    const { open: toOpen, close } = diffListeners(new Set(listeners.keys()), want);
    for (const id of close) {
      await listeners.get(id)?.close();
      listeners.delete(id);
      log.debug("closed listener", { listener: id });
    }
    const wantIds = new Set(want.map((w) => w.id));
    for (const id of [...blocked.keys()]) if (!wantIds.has(id)) blocked.delete(id);
    for (const w of want) {
      const l = listeners.get(w.id);
      if (l) l.portKey = w.portKey;
    }
    await Promise.all(toOpen.map(open));
    if (blocked.size > 0) queue.addAfter(SYNC, rebindMs);
  };
  const queue = new WorkQueue(sync, { log, baseDelayMs: 100, maxDelayMs: 5000 });
  const poke = () => queue.add(SYNC);
  for (const inf of [services, endpoints, nodes, slices] as Informer[]) inf.addHandlers({ add: poke, update: poke, delete: poke });

  // The mode first: the informers' first events already run a sync.
  mode = await chooseMode(opts, kernel);
  log.info("proxy mode", { mode });
  await Promise.all([services.start(), endpoints.start(), nodes.start(), slices.start()]);
  queue.add(SYNC);
  await queue.idle();

  return {
    mode,
    listening: () => [...listeners.keys()].sort(),
    async stop() {
      services.stop();
      endpoints.stop();
      nodes.stop();
      slices.stop();
      await queue.shutdown();
      if (mode === "kernel") await kernel.cleanup().catch((e) => log.warn("could not remove service rules", { error: String(e) }));
      await Promise.all([...listeners.values()].map((l) => l.close()));
      listeners.clear();
    },
  };
}

export const proxy: ActorDefinition<ProxyOptions> = {
  kind: "proxy",
  identity: (o) => ({ role: "node", node: o.nodeName }),
  start: startProxy,
};
export default proxy;
