/**
 * Pod networking for the process engine: each pod's containers run inside the pod's network
 * namespace (actors/kubelet/pod-network.ts: a veth to the node bridge, an address from the node's
 * podCIDR), started through `ip netns exec <ns> …`. `ip netns exec` also bind-mounts every file of
 * `/etc/netns/<ns>/` over `/etc/` for the command it runs, which is how a pod gets its own
 * `/etc/resolv.conf` (written per dnsPolicy/dnsConfig) and `/etc/hosts`.
 *
 * The podCIDR is known only once the node IPAM controller has written it into the Node, so the
 * network starts "waiting" and pods asking for a sandbox before then fail (and are retried with
 * back-off by the kubelet's work queue).
 *
 * Pods run as an unprivileged user (process-user.ts), so each pod's namespace lets any user bind
 * any port (`net.ipv4.ip_unprivileged_port_start=0`), as Docker and containerd set for containers
 * with a network of their own: a pod listening on port 80 works as it does in Kubernetes.
 *
 * @example
 *   const net = new ProcessPodNetwork({ stateDir, clusterCIDR: "10.244.0.0/16" });
 *   await net.ready("10.244.1.0/24");
 *   const { netns, ip } = await net.attach(uid, { resolvConf, hostname: "web-1" });
 */
import type { Runner } from "../../../runtime/command.ts";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PodNetwork, podNetnsName } from "../pod-network.ts";
import { writeFileAtomic } from "../../../runtime/atomic-file.ts";
import { commandRunner } from "../../../runtime/command.ts";

export interface ProcessPodNetworkOptions {
  /** Where the IPAM files live. */
  stateDir: string;
  clusterCIDR?: string;
  /** The node bridge (default `flt0`). */
  bridge?: string;
  /** The node's side lives in this network namespace (test hosts); default the current one. */
  nodeNetns?: string;
  /** Where `ip netns exec` finds per-namespace files (default /etc/netns). */
  etcNetns?: string;
  run?: Runner;
}

export class NetworkNotReady extends Error {
  override name = "NetworkNotReady";
  readonly retryable = true;
}

export class ProcessPodNetwork {
  private net?: PodNetwork;
  private cidr?: string;
  private readonly etc: string;

  constructor(private readonly o: ProcessPodNetworkOptions) {
    this.etc = o.etcNetns ?? "/etc/netns";
  }

  /** The podCIDR once known. */
  get podCIDR(): string | undefined {
    return this.cidr;
  }

  /** The node bridge's address (the pods' default gateway), once the podCIDR is known. */
  get gateway(): string | undefined {
    return this.net?.gateway;
  }

  /** Sets up the node side (bridge, forwarding, masquerade) for `podCIDR`. Idempotent. */
  async ready(podCIDR: string): Promise<void> {
    if (this.cidr === podCIDR && this.net) return;
    const net = new PodNetwork({ podCIDR, clusterCIDR: this.o.clusterCIDR, bridge: this.o.bridge, stateDir: this.o.stateDir, nodeNetns: this.o.nodeNetns, run: this.o.run });
    await net.ensureNode();
    this.net = net;
    this.cidr = podCIDR;
  }

  private need(): PodNetwork {
    if (!this.net) throw new NetworkNotReady("the node has no podCIDR yet (is the node-ipam-controller running?)");
    return this.net;
  }

  /** The pod's namespace with its address, resolv.conf and hosts file. Idempotent. */
  async attach(uid: string, o: { resolvConf?: string; hostname: string }): Promise<{ netns: string; ip: string }> {
    const a = await this.need().setup(uid);
    const r = await (this.o.run ?? commandRunner())("ip", ["netns", "exec", a.netns, "sysctl", "-qw", "net.ipv4.ip_unprivileged_port_start=0"]);
    if (r.code !== 0) throw new Error(`pod network namespace ${a.netns}: cannot open low ports to unprivileged users: ${r.stderr.trim()}`);
    const dir = join(this.etc, a.netns);
    mkdirSync(dir, { recursive: true });
    if (o.resolvConf !== undefined) writeFileAtomic(join(dir, "resolv.conf"), o.resolvConf);
    writeFileAtomic(join(dir, "hosts"), `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${a.ip}\t${o.hostname}\n`);
    return a;
  }

  /** Removes the pod's namespace, veth, address lease and per-namespace files. Idempotent. */
  async detach(uid: string): Promise<void> {
    rmSync(join(this.etc, podNetnsName(uid)), { recursive: true, force: true });
    if (this.net) await this.net.teardown(uid);
    // Before the podCIDR is known again (a restarted kubelet), the namespace still goes.
    else await (this.o.run ?? commandRunner())("ip", ["netns", "del", podNetnsName(uid)]);
  }

  /** host-gw routes to the other nodes' podCIDRs. */
  async syncRoutes(peers: readonly { podCIDR: string; address: string }[]): Promise<void> {
    await this.net?.syncRoutes(peers);
  }

  /** Pod uids holding an address. */
  attached(): string[] {
    return this.net ? [...this.net.allocated().keys()] : [];
  }

  /**
   * Removes the node side (routes, masquerade, the bridge) once no pod holds an address; while
   * pods still run (a kubelet stopping to be restarted re-adopts them) everything stays.
   */
  async close(): Promise<void> {
    if (this.net && this.net.allocated().size === 0) await this.net.cleanupNode();
  }
}

export { PodNetwork };
