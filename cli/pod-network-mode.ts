/**
 * `flotilla up --network pod`: what changes in the cluster `up` starts when pods get a network of
 * their own (docs/networking.md). Pure choices (`networkPlan`) plus starting the cluster DNS once
 * the first node's bridge exists (`startClusterDns`).
 *
 * - the store allocates ClusterIPs from the service CIDR 10.96.0.0/12 (not the loopback range);
 * - kubelets run in pod mode on the process engine, each with a bridge of its own (`flt<i>`);
 * - proxies program Services into the kernel (iptables);
 * - the `dns` actor serves on node-1's bridge address and registers `kube-system/kube-dns` at
 *   10.96.0.10, which every pod's resolv.conf names;
 * - the api-server starts once that bridge exists, listening on every address (kubectl keeps
 *   using 127.0.0.1) and advertising the bridge address as the `default/kubernetes` endpoint: a
 *   pod's packet to the Service's ClusterIP can be DNATed there (never to a loopback address).
 *
 * Without root or network namespaces the plan is loopback mode, with the reason, and the kubelets
 * still ask for pod networking so their Nodes (and `flotilla status`) say why they fell back.
 */
import type { ActorSpec } from "../runtime/actor.ts";
import type { CredentialsFor, Host } from "../runtime/host.ts";
import type { Node } from "../bus/resources.ts";
import { startHost, connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { ACTORS } from "../actors/registry.ts";
import { nthAddress } from "../bus/cidr.ts";

export const SERVICE_CIDR = "10.96.0.0/12";
export const CLUSTER_CIDR = "10.244.0.0/16";
export const CLUSTER_DNS_IP = "10.96.0.10";

export type NetworkChoice = "loopback" | "pod";

export interface NetworkPlan {
  mode: NetworkChoice;
  /** Why pod networking was not had, when it was asked for. */
  fallback?: string;
  storeOpts: Record<string, unknown>;
  kubeletOpts(index: number): Record<string, unknown>;
  proxyOpts: Record<string, unknown>;
}

/** What `up` runs for the network asked (`problem`: why pod networking cannot be had here, if so). Pure. */
export function networkPlan(asked: NetworkChoice, problem: string | undefined): NetworkPlan {
  if (asked === "loopback") return { mode: "loopback", storeOpts: {}, kubeletOpts: () => ({}), proxyOpts: {} };
  if (problem) return { mode: "loopback", fallback: problem, storeOpts: {}, kubeletOpts: () => ({ network: "pod" }), proxyOpts: {} };
  return {
    mode: "pod",
    storeOpts: { serviceCidr: SERVICE_CIDR },
    kubeletOpts: (i) => ({ network: "pod", clusterCIDR: CLUSTER_CIDR, clusterDNS: [CLUSTER_DNS_IP], podBridge: `flt${i}` }),
    proxyOpts: { mode: "kernel", clusterCIDR: CLUSTER_CIDR, serviceCIDR: SERVICE_CIDR },
  };
}

/**
 * Waits for `node`'s podCIDR (the node IPAM controller writes it within moments of registration),
 * then starts the dns actor on that node's bridge address, where every pod on this machine reaches
 * it through the kube-dns ClusterIP, and (given `apiServer`) the api-server advertising that
 * address for `default/kubernetes`.
 */
export async function startClusterDns(o: { natsUrl: string; cluster: string; node: string; timeoutMs?: number; credentials?: CredentialsFor; apiServer?: { port: number; dataDir: string } }): Promise<Host> {
  const nc = await connectNats(o.natsUrl, "up-dns-wait", o.credentials?.({ role: "control" }));
  let podCIDR: string | undefined;
  try {
    const store = new StoreClient(nc, o.cluster);
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    // The kubelet reports PodNetworkReady once its bridge holds the podCIDR's first address.
    const bridgeUp = (n: Node | undefined) => n?.status?.conditions?.some((c) => c.type === "NetworkUnavailable" && c.reason === "PodNetworkReady" && !!n.spec?.podCIDR && !!c.message?.includes(n.spec.podCIDR));
    while (!podCIDR) {
      const n = await store.get<Node>("nodes", undefined, o.node).catch(() => undefined);
      if (bridgeUp(n)) podCIDR = n!.spec!.podCIDR;
      if (podCIDR) break;
      if (Date.now() > deadline) throw new Error(`${o.node}'s pod network was not ready in time (is the node-ipam-controller running?)`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await nc.close();
  }
  const bridge = nthAddress(podCIDR, 1);
  const actors: ActorSpec[] = [{ def: ACTORS.dns!, opts: { listen: `${bridge}:0`, clusterIP: CLUSTER_DNS_IP } }];
  if (o.apiServer) actors.push({ def: ACTORS["api-server"]!, opts: { ...o.apiServer, ...apiServerInPodMode(bridge) } });
  return startHost({ natsUrl: o.natsUrl, cluster: o.cluster, actors, credentials: o.credentials });
}

/** The api-server's listen and advertise addresses in pod mode: every address, `bridge` for in-cluster clients, and `default/kubernetes` at the service CIDR's first address. Pure. */
export function apiServerInPodMode(bridge: string): { host: string; advertiseAddress: string; kubernetesClusterIP: string } {
  return { host: "0.0.0.0", advertiseAddress: bridge, kubernetesClusterIP: nthAddress(SERVICE_CIDR, 1) };
}
