/**
 * Pure proxy table: which listeners one node's proxy should hold (per service port: the ClusterIP,
 * the node's addresses for NodePort services, the Docker bridge gateway) and the ready backends of
 * each service port.
 */
import type { Endpoints, Service, ServicePort } from "../../bus/resources.ts";
import type { Backend } from "./balancer.ts";
import { bridgePortOf } from "../../bus/service-links.ts";

export type Protocol = "TCP" | "UDP";

export interface ListenerSpec {
  /** Unique: `<protocol>/<ip>:<port>`. */
  id: string;
  ip: string;
  port: number;
  protocol: Protocol;
  /** `<namespace>/<service>:<portName or port>` — the balancer this listener feeds. */
  portKey: string;
  service: string;
  via: "clusterIP" | "nodePort" | "bridge";
}

export interface PortConfig {
  portKey: string;
  sessionAffinity: "None" | "ClientIP";
  affinityTimeoutSeconds?: number;
  backends: Backend[];
}

export interface NodeAddresses {
  /** Where NodePorts listen (default 127.0.0.1). */
  nodeAddress: string;
  /** Extra addresses service ports are also served on (the Docker bridge gateway for docker pods). */
  bridgeAddresses: string[];
}

export const serviceKey = (svc: Service): string => `${svc.metadata.namespace}/${svc.metadata.name}`;
export const portKeyOf = (svc: Service, sp: ServicePort): string => `${serviceKey(svc)}:${sp.name || String(sp.port)}`;

function proxied(svc: Service): boolean {
  const ip = svc.spec.clusterIP;
  return svc.spec.type !== "ExternalName" && !!ip && ip !== "None" && !svc.metadata.deletionTimestamp;
}

function protocolOf(sp: ServicePort): Protocol | undefined {
  const p = sp.protocol ?? "TCP";
  return p === "TCP" || p === "UDP" ? p : undefined;
}

export function desiredListeners(services: readonly Service[], node: NodeAddresses): ListenerSpec[] {
  const out = new Map<string, ListenerSpec>();
  const add = (l: Omit<ListenerSpec, "id">) => {
    const id = `${l.protocol}/${l.ip}:${l.port}`;
    if (!out.has(id)) out.set(id, { ...l, id });
  };
  for (const svc of services) {
    if (!proxied(svc)) continue;
    for (const sp of svc.spec.ports ?? []) {
      const protocol = protocolOf(sp);
      if (!protocol) continue;
      const base = { protocol, portKey: portKeyOf(svc, sp), service: serviceKey(svc) };
      add({ ...base, ip: svc.spec.clusterIP!, port: sp.port, via: "clusterIP" });
      const bridgePort = bridgePortOf(svc, sp);
      if (bridgePort) for (const ip of node.bridgeAddresses) add({ ...base, ip, port: bridgePort, via: "bridge" });
      if ((svc.spec.type === "NodePort" || svc.spec.type === "LoadBalancer") && sp.nodePort) {
        add({ ...base, ip: node.nodeAddress, port: sp.nodePort, via: "nodePort" });
      }
    }
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Ready backends of one service port: the Endpoints port of the same name (or the only one). */
export function backendsFor(svc: Service, sp: ServicePort, ep: Endpoints | undefined): Backend[] {
  const out: Backend[] = [];
  for (const subset of ep?.subsets ?? []) {
    const ports = subset.ports ?? [];
    const port = sp.name ? ports.find((p) => p.name === sp.name) : ports.length === 1 ? ports[0] : ports.find((p) => !p.name);
    if (!port) continue;
    for (const a of subset.addresses ?? []) out.push({ ip: a.ip, port: port.port, pod: a.targetRef?.name });
  }
  return out;
}

export function portConfigs(services: readonly Service[], endpoints: (svc: Service) => Endpoints | undefined): PortConfig[] {
  const out: PortConfig[] = [];
  for (const svc of services) {
    if (!proxied(svc)) continue;
    const ep = endpoints(svc);
    for (const sp of svc.spec.ports ?? []) {
      if (!protocolOf(sp)) continue;
      out.push({
        portKey: portKeyOf(svc, sp),
        sessionAffinity: svc.spec.sessionAffinity === "ClientIP" ? "ClientIP" : "None",
        affinityTimeoutSeconds: svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds,
        backends: backendsFor(svc, sp, ep),
      });
    }
  }
  return out;
}

/** Listener ids to open and to close, going from `have` to `want`. */
export function diffListeners(have: ReadonlySet<string>, want: readonly ListenerSpec[]): { open: ListenerSpec[]; close: string[] } {
  const wantIds = new Set(want.map((l) => l.id));
  return { open: want.filter((l) => !have.has(l.id)), close: [...have].filter((id) => !wantIds.has(id)) };
}
