/**
 * Pod networking for the Docker engine: one user-defined bridge network per node whose subnet is
 * the Node's `spec.podCIDR`, with the gateway set explicitly to the block's first address (a
 * freshly started dockerd's default IPAM reports no `Gateway`, so nothing here relies on Docker
 * choosing one). Pod sandboxes join it and take their address from Docker's IPAM inside that block,
 * so pod IPs are unique across the cluster and routable from other nodes (host-gw routes, as for
 * the process engine). Docker's own masquerade is switched off for the network: pod traffic to
 * other nodes' pods keeps its source address, and only traffic leaving the cluster CIDR is
 * masqueraded (the same `FLT-PODNET-MASQ` rule the process engine's bridge gets).
 *
 * @example
 *   const net = new DockerPodNetwork({ docker, cluster: "c1", nodeName: "n1", stateDir });
 *   await net.ready("10.244.3.0/24"); // network `flotilla-c1-n1`, bridge `fltd<hash>`, gateway 10.244.3.1
 *   await docker.createContainer({ …, HostConfig: { NetworkMode: net.name } });
 */
import type Docker from "dockerode";
import type { Runner } from "../../../runtime/command.ts";
import { createHash } from "node:crypto";
import { PodNetwork } from "../pod-network.ts";
import { nthAddress } from "../../../bus/cidr.ts";
import { NetworkNotReady } from "./process-netns.ts";

export interface DockerPodNetworkOptions {
  docker: Docker;
  cluster: string;
  nodeName: string;
  /** Where the node side keeps its files (shared with the process engine's layout). */
  stateDir: string;
  clusterCIDR?: string;
  run?: Runner;
}

const BRIDGE_NAME = "com.docker.network.bridge.name";
const MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade";
export const NETWORK_LABEL = "flotilla.network";

/** `flotilla-<cluster>-<node>`: the node's Docker network. */
export const dockerNetworkName = (cluster: string, nodeName: string) => `flotilla-${cluster}-${nodeName}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
/** The host side of the network: `fltd<hash>` (Linux names hold 15 characters). */
export const dockerBridgeName = (network: string) => `fltd${createHash("sha256").update(network).digest("hex").slice(0, 10)}`;

interface NetworkView {
  Id: string;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
  Containers?: Record<string, unknown>;
}

export class DockerPodNetwork {
  readonly name: string;
  readonly bridge: string;
  private node?: PodNetwork;
  private cidr?: string;

  constructor(private readonly o: DockerPodNetworkOptions) {
    this.name = dockerNetworkName(o.cluster, o.nodeName);
    this.bridge = dockerBridgeName(this.name);
  }

  get podCIDR(): string | undefined {
    return this.cidr;
  }

  /** The network's gateway (the bridge's address, the pods' default route), once ready. */
  get gateway(): string | undefined {
    return this.cidr ? nthAddress(this.cidr, 1) : undefined;
  }

  private async inspect(): Promise<NetworkView | undefined> {
    return (await this.o.docker.getNetwork(this.name).inspect().catch(() => undefined)) as NetworkView | undefined;
  }

  /** The network with `podCIDR` (re-created when an empty one holds another block), and the node side. Idempotent. */
  async ready(podCIDR: string): Promise<void> {
    if (this.cidr === podCIDR && this.node) return;
    const gateway = nthAddress(podCIDR, 1);
    const have = await this.inspect();
    const cfg = have?.IPAM?.Config?.[0];
    if (have && (cfg?.Subnet !== podCIDR || cfg?.Gateway !== gateway)) {
      if (Object.keys(have.Containers ?? {}).length) throw new Error(`Docker network ${this.name} holds ${cfg?.Subnet} with containers attached; the node's podCIDR is ${podCIDR}`);
      await this.o.docker.getNetwork(this.name).remove();
    }
    if (!have || cfg?.Subnet !== podCIDR || cfg?.Gateway !== gateway) {
      await this.o.docker.createNetwork({
        Name: this.name,
        Driver: "bridge",
        CheckDuplicate: true,
        IPAM: { Driver: "default", Config: [{ Subnet: podCIDR, Gateway: gateway }] },
        Options: { [BRIDGE_NAME]: this.bridge, [MASQUERADE]: "false" },
        Labels: { "flotilla.cluster": this.o.cluster, "flotilla.node": this.o.nodeName, [NETWORK_LABEL]: "pod" },
      });
    }
    const node = new PodNetwork({ podCIDR, clusterCIDR: this.o.clusterCIDR, bridge: this.bridge, stateDir: this.o.stateDir, run: this.o.run, bridgeOwner: "docker" });
    await node.ensureNode();
    this.node = node;
    this.cidr = podCIDR;
  }

  /** The network's name for a sandbox's NetworkMode; throws NetworkNotReady before the podCIDR is known. */
  need(): string {
    if (!this.node) throw new NetworkNotReady("the node has no podCIDR yet (is the node-ipam-controller running?)");
    return this.name;
  }

  /** host-gw routes to the other nodes' podCIDRs. */
  async syncRoutes(peers: readonly { podCIDR: string; address: string }[]): Promise<void> {
    await this.node?.syncRoutes(peers);
  }

  /** Removes the network and the node side once no container is attached; with pods still there everything stays. */
  async close(): Promise<void> {
    const have = await this.inspect();
    if (have && Object.keys(have.Containers ?? {}).length) return;
    if (have) await this.o.docker.getNetwork(this.name).remove().catch(() => undefined);
    await this.node?.cleanupNode();
  }
}
