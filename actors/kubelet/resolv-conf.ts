/**
 * A pod's `/etc/resolv.conf`, as the kubelet writes it (pkg/kubelet/network/dns): `dnsPolicy`
 * ClusterFirst (the default) points at the cluster DNS with the search list
 * `<ns>.svc.<domain> svc.<domain> <domain>` and `ndots:5`; Default copies the host's; None uses
 * only `dnsConfig`, which is merged into the others (nameservers and searches appended, options
 * replaced by name). Pure.
 *
 * @example
 *   resolvConf(pod, { clusterDNS: ["10.96.0.10"], clusterDomain: "cluster.local", host })
 *   // "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
 */
import type { Pod } from "../../bus/resources.ts";

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}
export interface DnsSettings {
  /** The cluster DNS addresses (the kube-dns Service IP); none → ClusterFirst falls back to Default. */
  clusterDNS: string[];
  clusterDomain: string;
  /** The node's own resolver settings. */
  host: ResolvConf;
}

/** Kubernetes' limits (validation.MaxDNSNameservers / MaxDNSSearchPaths). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split("\n")) {
    const [key, ...rest] = raw.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (key === "nameserver" && rest[0]) out.nameservers.push(rest[0]);
    else if (key === "search" || key === "domain") out.searches = rest.filter(Boolean);
    else if (key === "options")
      for (const o of rest) {
        const [name, value] = o.split(":");
        if (name) out.options.push(value === undefined ? { name } : { name, value });
      }
  }
  return out;
}

function merge(base: ResolvConf, extra: Pod["spec"]["dnsConfig"]): ResolvConf {
  const options = new Map(base.options.map((o) => [o.name, o]));
  for (const o of extra?.options ?? []) options.set(o.name, o);
  return {
    nameservers: [...new Set([...base.nameservers, ...(extra?.nameservers ?? [])])].slice(0, MAX_NAMESERVERS),
    searches: [...new Set([...base.searches, ...(extra?.searches ?? [])])].slice(0, MAX_SEARCHES),
    options: [...options.values()],
  };
}

export function podResolvConf(pod: Pod, s: DnsSettings): ResolvConf {
  const ns = pod.metadata.namespace ?? "default";
  let policy = pod.spec.dnsPolicy ?? "ClusterFirst";
  // With the host's network, ClusterFirst means the host's resolvers (ClusterFirstWithHostNet opts in).
  if (policy === "ClusterFirst" && pod.spec.hostNetwork) policy = "Default";
  if (policy === "ClusterFirstWithHostNet") policy = "ClusterFirst";
  if (policy === "ClusterFirst" && s.clusterDNS.length === 0) policy = "Default";
  const base: ResolvConf =
    policy === "None"
      ? { nameservers: [], searches: [], options: [] }
      : policy === "Default"
        ? s.host
        : {
            nameservers: s.clusterDNS,
            searches: [`${ns}.svc.${s.clusterDomain}`, `svc.${s.clusterDomain}`, s.clusterDomain, ...s.host.searches],
            options: [{ name: "ndots", value: "5" }],
          };
  return merge(base, pod.spec.dnsConfig);
}

export function formatResolvConf(r: ResolvConf): string {
  const lines = r.nameservers.map((n) => `nameserver ${n}`);
  if (r.searches.length) lines.push(`search ${r.searches.join(" ")}`);
  if (r.options.length) lines.push(`options ${r.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)).join(" ")}`);
  return lines.join("\n") + "\n";
}
