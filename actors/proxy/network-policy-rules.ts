/**
 * NetworkPolicy (networking.k8s.io/v1) as iptables filter rules for the pods of one node (pure).
 *
 * ```
 *  FORWARD ─▶ FLT-NETPOL ─┬─ established/related ─────────────────────────▶ RETURN (allowed)
 *                         ├─ -s <pod ip> ─▶ FLT-NPE-<pod>  (pod isolated for egress)
 *                         └─ -d <pod ip> ─▶ FLT-NPI-<pod>  (pod isolated for ingress)
 *  FLT-NPI-<pod>: clear mark; per rule × peer × port: `-s <peer ip> -p tcp --dport P -j RETURN`
 *                 (ipBlock: ─▶ FLT-NPB-<h>: `-s <except> -j RETURN` …, `-s <cidr> -j MARK`;
 *                  back in the pod chain a set mark RETURNs); nothing matched ─▶ DROP
 * ```
 *
 * An allowed packet RETURNs rather than ACCEPTs, so a packet between two isolated pods passes the
 * sender's egress chain and then the receiver's ingress chain. Only pods with an address, not on
 * the host's network, count (as peers too). A pod no policy selects for a direction is not
 * isolated for it. Ports: numbers, ranges (`endPort`) and names (looked up in the target pod's
 * container ports for ingress, the peer pod's for egress). Policy semantics follow Kubernetes:
 * rules are a union, an empty `from`/`to` means every peer, an empty `ports` every port.
 *
 * @example
 *   const { restore } = policyRules({ policies, pods, namespaces, isLocal: (p) => p.spec.nodeName === "n1" });
 */
import type { Namespace, Pod } from "../../bus/resources.ts";
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from "../../bus/networking.ts";
import { createHash } from "node:crypto";
import { matchesSelector } from "../../bus/selectors.ts";

export const NETPOL_CHAIN = "FLT-NETPOL";
export const NETPOL_PREFIXES = ["FLT-NPI-", "FLT-NPE-", "FLT-NPB-"] as const;
/** The jump into our chain: `[table, builtin chain, rule…]`. */
export const NETPOL_JUMP = ["filter", "FORWARD", "-m", "comment", "--comment", "flotilla network policies", "-j", NETPOL_CHAIN] as const;
const MARK = "0x20000/0x20000";

export interface PolicyInputs {
  policies: readonly NetworkPolicy[];
  pods: readonly Pod[];
  namespaces: readonly Namespace[];
  /** The pods this node enforces for (those in its network namespaces). */
  isLocal(pod: Pod): boolean;
}

export interface PolicyRules {
  /** iptables-restore input for the filter table (our chains only). */
  restore: string;
  /** Every chain it declares. */
  chains: string[];
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16).toUpperCase();
const ipOf = (p: Pod) => p.status?.podIP;
const live = (p: Pod) => !!ipOf(p) && !p.spec.hostNetwork && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
const selects = (np: NetworkPolicy, p: Pod) => p.metadata.namespace === np.metadata.namespace && matchesSelector(np.spec?.podSelector ?? {}, p.metadata.labels);
const types = (np: NetworkPolicy) => np.spec?.policyTypes ?? (np.spec?.egress ? ["Ingress", "Egress"] : ["Ingress"]);

type Peer = { ips: Pod[] } | { cidr: string; except: string[] };

function peerOf(np: NetworkPolicy, peer: NetworkPolicyPeer, pods: readonly Pod[], namespaces: readonly Namespace[]): Peer {
  if (peer.ipBlock) return { cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] };
  const nsOk = (ns: string | undefined) => {
    if (!peer.namespaceSelector) return ns === np.metadata.namespace;
    const n = namespaces.find((x) => x.metadata.name === ns);
    // Every namespace carries its name as a label (Kubernetes sets it; here it counts even when absent).
    return matchesSelector(peer.namespaceSelector, { ...(n?.metadata.labels ?? {}), "kubernetes.io/metadata.name": ns ?? "" });
  };
  return { ips: pods.filter((p) => nsOk(p.metadata.namespace) && matchesSelector(peer.podSelector ?? {}, p.metadata.labels)) };
}

/** `-p tcp --dport 80` (or a range); undefined when a named port does not exist on `named`. */
function portMatch(port: NetworkPolicyPort, named: Pod | undefined): string | undefined {
  const proto = (port.protocol ?? "TCP").toLowerCase();
  if (port.port === undefined) return `-p ${proto}`;
  let n: number | undefined;
  if (typeof port.port === "number") n = port.port;
  else if (/^\d+$/.test(port.port)) n = Number(port.port);
  else n = named?.spec.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === port.port && (cp.protocol ?? "TCP").toLowerCase() === proto)?.containerPort;
  if (n === undefined) return undefined;
  return `-p ${proto} -m ${proto} --dport ${n}${port.endPort && typeof port.port === "number" ? `:${port.endPort}` : ""}`;
}

export function policyRules(i: PolicyInputs): PolicyRules {
  const pods = i.pods.filter(live);
  const chains = new Map<string, string[]>([[NETPOL_CHAIN, [`-A ${NETPOL_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`]]]);
  const top = chains.get(NETPOL_CHAIN)!;
  const jumps: { egress: string[]; ingress: string[] } = { egress: [], ingress: [] };
  const local = pods.filter((p) => i.isLocal(p)).sort((a, b) => ipOf(a)!.localeCompare(ipOf(b)!));
  for (const pod of local) {
    const ip = ipOf(pod)!;
    for (const dir of ["Ingress", "Egress"] as const) {
      const policies = i.policies.filter((np) => selects(np, pod) && types(np).includes(dir)).sort((a, b) => `${a.metadata.name}`.localeCompare(`${b.metadata.name}`));
      if (policies.length === 0) continue;
      const ingress = dir === "Ingress";
      const chain = `${ingress ? "FLT-NPI-" : "FLT-NPE-"}${hash(`${pod.metadata.namespace}/${pod.metadata.name}/${ip}`)}`;
      const lines = [`-A ${chain} -j MARK --set-xmark 0x0/0x20000`];
      const peerFlag = ingress ? "-s" : "-d";
      for (const np of policies) {
        const rules = ingress ? np.spec?.ingress ?? [] : np.spec?.egress ?? [];
        for (const [ri, rule] of rules.entries()) {
          const peers = ingress ? (rule as { from?: NetworkPolicyPeer[] }).from : (rule as { to?: NetworkPolicyPeer[] }).to;
          const ports = rule.ports?.length ? rule.ports : [undefined];
          const comment = `-m comment --comment "${np.metadata.namespace}/${np.metadata.name} ${dir.toLowerCase()}[${ri}]"`;
          const emit = (peerMatch: string, namedOn: Pod | undefined, verdict: string) => {
            for (const port of ports) {
              const pm = port ? portMatch(port, namedOn) : "";
              if (pm === undefined) continue;
              lines.push(`-A ${chain} ${comment}${peerMatch ? ` ${peerMatch}` : ""}${pm ? ` ${pm}` : ""} -j ${verdict}`);
            }
          };
          if (!peers?.length) {
            emit("", ingress ? pod : undefined, "RETURN");
            continue;
          }
          for (const [pi, peer] of peers.entries()) {
            const resolved = peerOf(np, peer, pods, i.namespaces);
            if ("ips" in resolved) {
              for (const p of resolved.ips.sort((a, b) => ipOf(a)!.localeCompare(ipOf(b)!))) emit(`${peerFlag} ${ipOf(p)}/32`, ingress ? pod : p, "RETURN");
              continue;
            }
            const block = `FLT-NPB-${hash(`${chain}/${np.metadata.namespace}/${np.metadata.name}/${ri}/${pi}`)}`;
            chains.set(block, [...resolved.except.map((e) => `-A ${block} ${peerFlag} ${e} -j RETURN`), `-A ${block} ${peerFlag} ${resolved.cidr} -j MARK --set-xmark ${MARK}`]);
            lines.push(`-A ${chain} ${comment} -j ${block}`);
            // The block chain marks a peer inside the cidr and outside every except; ports are checked here.
            emit(`-m mark --mark ${MARK}`, ingress ? pod : undefined, "RETURN");
            lines.push(`-A ${chain} -j MARK --set-xmark 0x0/0x20000`);
          }
        }
      }
      lines.push(`-A ${chain} -m comment --comment "${pod.metadata.namespace}/${pod.metadata.name} ${dir.toLowerCase()} isolated" -j DROP`);
      chains.set(chain, lines);
      jumps[ingress ? "ingress" : "egress"].push(`-A ${NETPOL_CHAIN} ${ingress ? "-d" : "-s"} ${ip}/32 -j ${chain}`);
    }
  }
  // Egress of the sender first, then ingress of the receiver.
  top.push(...jumps.egress, ...jumps.ingress);
  const names = [...chains.keys()];
  const restore = ["*filter", ...names.map((c) => `:${c} - [0:0]`), ...names.flatMap((c) => chains.get(c)!), "COMMIT", ""].join("\n");
  return { restore, chains: names };
}
