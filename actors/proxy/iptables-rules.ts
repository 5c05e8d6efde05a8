/**
 * Services in the kernel's data path, as kube-proxy's iptables mode writes them. Pure: Services +
 * Endpoints + this node → the `iptables-restore` payload for Flotilla's own chains. Nothing here
 * runs a command; `iptables.ts` applies the payload.
 *
 * The chains (all in the nat table unless said otherwise):
 * - `FLT-SERVICES` (from PREROUTING and OUTPUT): ClusterIP:port → `FLT-SVC-<hash>`; last, traffic to
 *   a local address → `FLT-NODEPORTS`.
 * - `FLT-NODEPORTS`: nodePort → `FLT-EXT-<hash>` (marks for masquerade, then `FLT-SVC-…`), or for
 *   `externalTrafficPolicy: Local` → `FLT-XLB-<hash>` (local endpoints only, source kept).
 * - `FLT-SVC-<hash>`: one endpoint chosen at random with `statistic` (probability 1/n, 1/(n-1), …),
 *   sticky per client with `recent` when `sessionAffinity: ClientIP`.
 * - `FLT-SEP-<hash>`: DNAT to one endpoint; an endpoint talking to its own Service (hairpin) is
 *   marked for masquerade so the reply comes back through the node.
 * - `FLT-POSTROUTING` (from POSTROUTING): masquerades marked packets.
 * - filter `FLT-SERVICES`: a Service port with no ready endpoint rejects at once
 *   (icmp-port-unreachable), as kube-proxy does, instead of timing out.
 *
 * @example
 *   serviceRules({ services, endpointsOf, node: { name: "n1", clusterCIDR: "10.244.0.0/16" } }).restore
 */
import type { Endpoints, Service, ServicePort } from "../../bus/resources.ts";
import { createHash } from "node:crypto";

export const CHAIN = {
  services: "FLT-SERVICES",
  nodePorts: "FLT-NODEPORTS",
  postrouting: "FLT-POSTROUTING",
  markMasq: "FLT-MARK-MASQ",
} as const;
/** Prefixes of the per-service and per-endpoint chains (every chain Flotilla owns starts with `FLT-`). */
export const CHAIN_PREFIX = { svc: "FLT-SVC-", sep: "FLT-SEP-", ext: "FLT-EXT-", xlb: "FLT-XLB-" } as const;
export const MASQ_MARK = "0x4000/0x4000";

/** The jumps from the built-in chains into ours: `[table, builtin chain, rule…]`. */
export const JUMPS: readonly (readonly [string, string, ...string[]])[] = [
  ["nat", "PREROUTING", "-m", "comment", "--comment", "flotilla service portals", "-j", CHAIN.services],
  ["nat", "OUTPUT", "-m", "comment", "--comment", "flotilla service portals", "-j", CHAIN.services],
  ["nat", "POSTROUTING", "-m", "comment", "--comment", "flotilla postrouting", "-j", CHAIN.postrouting],
  ["filter", "FORWARD", "-m", "comment", "--comment", "flotilla services without endpoints", "-j", CHAIN.services],
  ["filter", "OUTPUT", "-m", "comment", "--comment", "flotilla services without endpoints", "-j", CHAIN.services],
  ["filter", "INPUT", "-m", "comment", "--comment", "flotilla services without endpoints", "-j", CHAIN.services],
];

export interface RulesNode {
  name: string;
  /** The cluster's pod CIDR (e.g. 10.244.0.0/16): traffic from outside it to a ClusterIP is masqueraded. */
  clusterCIDR?: string;
  /**
   * The service CIDR (e.g. 10.96.0.0/12): a packet still addressed to it after the nat table (no
   * Service has that address and port, or its rules are not in yet) is rejected here instead of
   * following the default route off the host.
   */
  serviceCIDR?: string;
}

export interface RuleEndpoint {
  ip: string;
  port: number;
  nodeName?: string;
}

export interface RulesInput {
  services: readonly Service[];
  endpointsOf: (svc: Service) => Endpoints | undefined;
  node: RulesNode;
}

export interface Rules {
  /** `iptables-restore --noflush` input: declares (and so flushes) every chain we own and fills it. */
  restore: string;
  /** Every chain this payload owns, by table — the applier deletes our chains not in this set. */
  chains: { nat: string[]; filter: string[] };
}

const hash = (s: string) => createHash("sha256").update(s).digest("base64url").replace(/[-_]/g, "x").slice(0, 16).toUpperCase();

function proto(sp: ServicePort): "tcp" | "udp" | undefined {
  const p = (sp.protocol ?? "TCP").toUpperCase();
  return p === "TCP" ? "tcp" : p === "UDP" ? "udp" : undefined;
}

/** Ready endpoints of one service port (the Endpoints port of the same name, or the only one). */
export function endpointsFor(svc: Service, sp: ServicePort, ep: Endpoints | undefined): RuleEndpoint[] {
  const out: RuleEndpoint[] = [];
  for (const subset of ep?.subsets ?? []) {
    const ports = subset.ports ?? [];
    const port = sp.name ? ports.find((p) => p.name === sp.name) : ports.length === 1 ? ports[0] : ports.find((p) => !p.name);
    if (!port) continue;
    for (const a of subset.addresses ?? []) out.push({ ip: a.ip, port: port.port, ...(a.nodeName ? { nodeName: a.nodeName } : {}) });
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port);
}

const quote = (s: string) => `"${s.replace(/["\\]/g, "")}"`;

/** Probability for the i-th of n endpoints so that each is chosen 1/n of the time. */
const probability = (i: number, n: number) => (1 / (n - i)).toFixed(10);

export function serviceRules(input: RulesInput): Rules {
  const nat: string[] = [];
  const filter: string[] = [];
  const natChains = new Set<string>([CHAIN.services, CHAIN.nodePorts, CHAIN.postrouting, CHAIN.markMasq]);
  const filterChains = new Set<string>([CHAIN.services]);
  const nodePortRules: string[] = [];

  nat.push(`-A ${CHAIN.markMasq} -j MARK --set-xmark ${MASQ_MARK}`);
  nat.push(`-A ${CHAIN.postrouting} -m mark ! --mark ${MASQ_MARK} -j RETURN`);
  nat.push(`-A ${CHAIN.postrouting} -j MARK --set-xmark 0x4000/0x0`);
  nat.push(`-A ${CHAIN.postrouting} -m comment --comment "flotilla service traffic requiring SNAT" -j MASQUERADE --random-fully`);

  const services = [...input.services].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  for (const svc of services) {
    const clusterIP = svc.spec.clusterIP;
    if (svc.spec.type === "ExternalName" || !clusterIP || clusterIP === "None" || svc.metadata.deletionTimestamp) continue;
    const ep = input.endpointsOf(svc);
    for (const sp of svc.spec.ports ?? []) {
      const p = proto(sp);
      if (!p) continue;
      const name = `${svc.metadata.namespace}/${svc.metadata.name}:${sp.name || sp.port}`;
      const comment = `-m comment --comment ${quote(name)}`;
      const eps = endpointsFor(svc, sp, ep);
      const nodePort = (svc.spec.type === "NodePort" || svc.spec.type === "LoadBalancer") && sp.nodePort ? sp.nodePort : undefined;
      const dst = `-d ${clusterIP}/32 -p ${p} -m ${p} --dport ${sp.port}`;
      if (eps.length === 0) {
        filter.push(`-A ${CHAIN.services} ${comment} ${dst} -j REJECT --reject-with icmp-port-unreachable`);
        if (nodePort) filter.push(`-A ${CHAIN.services} ${comment} -m addrtype --dst-type LOCAL -p ${p} -m ${p} --dport ${nodePort} -j REJECT --reject-with icmp-port-unreachable`);
        continue;
      }
      const svcChain = CHAIN_PREFIX.svc + hash(name);
      natChains.add(svcChain);
      nat.push(`-A ${CHAIN.services} ${comment} ${dst} -j ${svcChain}`);
      if (input.node.clusterCIDR) nat.push(`-A ${svcChain} ${comment} ! -s ${input.node.clusterCIDR} ${dst} -j ${CHAIN.markMasq}`);

      const affinity = svc.spec.sessionAffinity === "ClientIP" ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined;
      const sepChains = eps.map((e) => CHAIN_PREFIX.sep + hash(`${name}/${e.ip}:${e.port}`));
      const fill = (chain: string, chains: string[]) => {
        if (affinity !== undefined) {
          for (const sep of chains) nat.push(`-A ${chain} ${comment} -m recent --name ${sep} --rcheck --seconds ${affinity} --reap -j ${sep}`);
        }
        chains.forEach((sep, i) => {
          const last = i === chains.length - 1;
          nat.push(`-A ${chain} ${comment}${last ? "" : ` -m statistic --mode random --probability ${probability(i, chains.length)}`} -j ${sep}`);
        });
      };
      fill(svcChain, sepChains);
      eps.forEach((e, i) => {
        const sep = sepChains[i]!;
        natChains.add(sep);
        nat.push(`-A ${sep} ${comment} -s ${e.ip}/32 -j ${CHAIN.markMasq}`);
        nat.push(`-A ${sep} ${comment} -p ${p} -m ${p}${affinity !== undefined ? ` -m recent --name ${sep} --set` : ""} -j DNAT --to-destination ${e.ip}:${e.port}`);
      });

      if (nodePort) {
        const ndst = `-p ${p} -m ${p} --dport ${nodePort}`;
        if (svc.spec.externalTrafficPolicy === "Local") {
          // Only endpoints on this node; the client's address is kept (no masquerade).
          const xlb = CHAIN_PREFIX.xlb + hash(name);
          natChains.add(xlb);
          nodePortRules.push(`-A ${CHAIN.nodePorts} ${comment} ${ndst} -j ${xlb}`);
          const localIdx = eps.map((e, i) => [e, i] as const).filter(([e]) => e.nodeName === input.node.name);
          // Traffic from pods of the cluster keeps the cluster-wide behaviour.
          if (input.node.clusterCIDR) nat.push(`-A ${xlb} ${comment} -s ${input.node.clusterCIDR} -j ${svcChain}`);
          // No endpoint here: the packet is not translated and the filter table drops it.
          if (localIdx.length === 0) filter.push(`-A ${CHAIN.services} ${comment} -m addrtype --dst-type LOCAL ${ndst} -j DROP`);
          else fill(xlb, localIdx.map(([, i]) => sepChains[i]!));
        } else {
          const ext = CHAIN_PREFIX.ext + hash(name);
          natChains.add(ext);
          nodePortRules.push(`-A ${CHAIN.nodePorts} ${comment} ${ndst} -j ${ext}`);
          nat.push(`-A ${ext} ${comment} -j ${CHAIN.markMasq}`, `-A ${ext} ${comment} -j ${svcChain}`);
        }
      }
    }
  }
  nat.push(...nodePortRules);
  nat.push(`-A ${CHAIN.services} -m comment --comment "flotilla service nodeports; must be last" -m addrtype --dst-type LOCAL -j ${CHAIN.nodePorts}`);
  if (input.node.serviceCIDR) filter.push(`-A ${CHAIN.services} -m comment --comment "flotilla service CIDR: nothing not translated leaves the host; must be last" -d ${input.node.serviceCIDR} -j REJECT --reject-with icmp-net-unreachable`);

  const declare = (chains: Set<string>) => [...chains].map((c) => `:${c} - [0:0]`);
  const restore = ["*filter", ...declare(filterChains), ...filter, "COMMIT", "*nat", ...declare(natChains), ...nat, "COMMIT", ""].join("\n");
  return { restore, chains: { nat: [...natChains], filter: [...filterChains] } };
}
