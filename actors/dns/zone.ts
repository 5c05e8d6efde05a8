/**
 * The cluster's DNS zone, built from Services, Endpoints and Pods, and the answers to questions about
 * it. Pure: no sockets, no clock. Follows Kubernetes' DNS specification
 * (https://github.com/kubernetes/dns/blob/master/docs/specification.md), as CoreDNS' `kubernetes`
 * plugin serves it with `pods verified`.
 *
 * @example
 *   const zone = buildZone({ services, endpoints, pods }, { domain: "cluster.local" });
 *   answer(zone, { name: "web.default.svc.cluster.local", type: "A" })
 *   // { rcode: "NOERROR", answers: [{ name: "web.default.svc.cluster.local", type: "A", data: "10.96.0.12", ttl: 5 }] }
 */
import type { Endpoints, Pod, Service } from "../../bus/resources.ts";

export const RecordType = { A: "A", AAAA: "AAAA", SRV: "SRV", PTR: "PTR", CNAME: "CNAME", SOA: "SOA", ANY: "ANY" } as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}
export type ZoneRecord =
  | { type: "A" | "AAAA" | "PTR" | "CNAME"; data: string }
  | { type: "SRV"; data: SrvData };
export type Answer = ZoneRecord & { name: string; ttl: number };

export interface Question {
  name: string;
  type: string;
}
export type Reply =
  | { rcode: "NOERROR" | "NXDOMAIN"; answers: Answer[]; authoritative: true }
  /** Not in a zone this server owns: the caller forwards it to the upstream resolvers. */
  | { rcode: "FORWARD" };

export interface ZoneOptions {
  /** The cluster domain (default `cluster.local`). */
  domain?: string;
  /** TTL of every answer, seconds (CoreDNS' default for the kubernetes plugin: 5). */
  ttl?: number;
}

export interface Zone {
  domain: string;
  ttl: number;
  /** Lower-case FQDN without the trailing dot → its records. */
  names: Map<string, ZoneRecord[]>;
  /** Names that exist only as a parent of others (answered NOERROR with no records, never NXDOMAIN). */
  parents: Set<string>;
  /** Pod IPs by namespace, for `<a-b-c-d>.<ns>.pod.<domain>` (verified: only addresses of live pods). */
  podIPs: Map<string, Set<string>>;
}

export interface ZoneSources {
  services: readonly Service[];
  endpoints: readonly Endpoints[];
  pods: readonly Pod[];
}

const lower = (s: string) => s.toLowerCase().replace(/\.$/, "");
const isIPv4 = (s: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
const isIPv6 = (s: string) => s.includes(":");
const addrType = (ip: string): "A" | "AAAA" => (isIPv6(ip) ? "AAAA" : "A");

/** `10.0.0.1` → `1.0.0.10.in-addr.arpa`; IPv6 → nibble form under ip6.arpa. */
export function reverseName(ip: string): string | undefined {
  if (isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  if (!isIPv6(ip)) return undefined;
  const [head = "", tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  if (groups.length !== 8) return undefined;
  const nibbles = groups.map((g) => g.padStart(4, "0")).join("").split("");
  return `${nibbles.reverse().join(".")}.ip6.arpa`;
}

/** `10.244.1.5` → `10-244-1-5` (the pod and headless SRV name form). */
export const dashed = (ip: string) => ip.replace(/[.:]/g, "-");

function add(zone: Zone, name: string, rec: ZoneRecord): void {
  const key = lower(name);
  const list = zone.names.get(key);
  if (list) {
    if (!list.some((r) => r.type === rec.type && JSON.stringify(r.data) === JSON.stringify(rec.data))) list.push(rec);
  } else zone.names.set(key, [rec]);
}

const isHeadless = (s: Service) => s.spec.clusterIP === "None";

function clusterIPs(s: Service): string[] {
  const ips = s.spec.clusterIPs?.length ? s.spec.clusterIPs : s.spec.clusterIP ? [s.spec.clusterIP] : [];
  return ips.filter((ip) => ip && ip !== "None");
}

function readyAddresses(s: Service, ep: Endpoints | undefined) {
  const out: { ip: string; hostname?: string; ports: { name?: string; port: number; protocol?: string }[] }[] = [];
  for (const subset of ep?.subsets ?? []) {
    const addrs = [...(subset.addresses ?? []), ...(s.spec.publishNotReadyAddresses ? (subset.notReadyAddresses ?? []) : [])];
    for (const a of addrs) out.push({ ip: a.ip, ...(a.hostname ? { hostname: a.hostname } : {}), ports: subset.ports ?? [] });
  }
  return out;
}

/** Builds the zone from the informers' current objects. */
export function buildZone(src: ZoneSources, o: ZoneOptions = {}): Zone {
  const domain = lower(o.domain ?? "cluster.local");
  const zone: Zone = { domain, ttl: o.ttl ?? 5, names: new Map(), parents: new Set(), podIPs: new Map() };
  const endpointsOf = new Map(src.endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));

  for (const s of src.services) {
    const ns = s.metadata.namespace ?? "default";
    const svcName = `${s.metadata.name}.${ns}.svc.${domain}`;
    if (s.spec.type === "ExternalName") {
      if (s.spec.externalName) add(zone, svcName, { type: "CNAME", data: lower(s.spec.externalName) });
      continue;
    }
    if (!isHeadless(s)) {
      for (const ip of clusterIPs(s)) {
        add(zone, svcName, { type: addrType(ip), data: ip });
        const rev = reverseName(ip);
        if (rev) add(zone, rev, { type: "PTR", data: svcName });
      }
      for (const p of s.spec.ports ?? []) {
        if (!p.name) continue;
        add(zone, `_${p.name}._${(p.protocol ?? "TCP").toLowerCase()}.${svcName}`, { type: "SRV", data: { priority: 0, weight: 100, port: p.port, target: svcName } });
      }
      continue;
    }
    // Headless: the ready endpoints themselves.
    for (const a of readyAddresses(s, endpointsOf.get(`${ns}/${s.metadata.name}`))) {
      add(zone, svcName, { type: addrType(a.ip), data: a.ip });
      const host = `${a.hostname ?? dashed(a.ip)}.${svcName}`;
      add(zone, host, { type: addrType(a.ip), data: a.ip });
      if (a.hostname) {
        const rev = reverseName(a.ip);
        if (rev) add(zone, rev, { type: "PTR", data: host });
      }
      for (const p of a.ports) {
        if (!p.name) continue;
        add(zone, `_${p.name}._${(p.protocol ?? "TCP").toLowerCase()}.${svcName}`, { type: "SRV", data: { priority: 0, weight: 100, port: p.port, target: host } });
      }
    }
  }

  for (const p of src.pods) {
    if (p.metadata.deletionTimestamp) continue;
    const ns = p.metadata.namespace ?? "default";
    const ips = p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : []);
    if (ips.length === 0 || p.spec.hostNetwork) continue;
    let set = zone.podIPs.get(ns);
    if (!set) zone.podIPs.set(ns, (set = new Set()));
    for (const ip of ips) set.add(ip);
  }

  // Every proper suffix of a name inside the domain exists (NOERROR/NODATA, not NXDOMAIN).
  const parentsOf = (name: string) => {
    let n = name;
    for (let i = n.indexOf("."); i >= 0; i = n.indexOf(".")) {
      n = n.slice(i + 1);
      zone.parents.add(n);
    }
  };
  for (const name of zone.names.keys()) if (name.endsWith(domain)) parentsOf(name);
  zone.parents.add(domain);
  for (const ns of zone.podIPs.keys()) parentsOf(`x.${ns}.pod.${domain}`);
  return zone;
}

function wants(q: string, rec: ZoneRecord): boolean {
  return q === "ANY" || q === rec.type || rec.type === "CNAME";
}

/** `10-244-1-5.default.pod.cluster.local` → the IP, when a pod in that namespace has it. */
function podAddress(zone: Zone, name: string): ZoneRecord | undefined {
  const suffix = `.pod.${zone.domain}`;
  if (!name.endsWith(suffix)) return undefined;
  const labels = name.slice(0, -suffix.length).split(".");
  if (labels.length !== 2) return undefined;
  const [host, ns] = labels as [string, string];
  const v4 = host.replace(/-/g, ".");
  if (isIPv4(v4) && zone.podIPs.get(ns)?.has(v4)) return { type: "A", data: v4 };
  const v6 = zone.podIPs.get(ns) && [...zone.podIPs.get(ns)!].find((ip) => isIPv6(ip) && dashed(ip) === host);
  return v6 ? { type: "AAAA", data: v6 } : undefined;
}

function ownsName(zone: Zone, name: string): boolean {
  if (name === zone.domain || name.endsWith(`.${zone.domain}`)) return true;
  // Reverse names are ours only where we hold a record; the rest of in-addr.arpa goes upstream.
  return false;
}

/** The answer to one question. Names outside the cluster domain are `FORWARD`ed. */
export function answer(zone: Zone, q: Question): Reply {
  const name = lower(q.name);
  const type = q.type.toUpperCase();
  const records = zone.names.get(name) ?? (ownsName(zone, name) ? (() => {
    const pod = podAddress(zone, name);
    return pod ? [pod] : undefined;
  })() : undefined);
  if (!records) {
    if (!ownsName(zone, name)) return { rcode: "FORWARD" };
    return zone.parents.has(name) ? { rcode: "NOERROR", answers: [], authoritative: true } : { rcode: "NXDOMAIN", answers: [], authoritative: true };
  }
  const answers: Answer[] = records.filter((r) => wants(type, r)).map((r) => ({ ...r, name, ttl: zone.ttl }) as Answer);
  // A CNAME inside the zone is followed once, as CoreDNS does for ExternalName pointing into the cluster.
  const cname = answers.find((a) => a.type === "CNAME");
  if (cname && type !== "CNAME" && type !== "ANY") {
    const target = zone.names.get(cname.data as string);
    for (const r of target ?? []) if (wants(type, r) && r.type !== "CNAME") answers.push({ ...r, name: cname.data as string, ttl: zone.ttl } as Answer);
  }
  return { rcode: "NOERROR", answers, authoritative: true };
}
