/**
 * Service addresses as allocation keys (pure). Every ClusterIP, NodePort and bridge port a Service
 * holds is a key in the main bucket — `_alloc.clusterip.<ip>`, `_alloc.nodeport.<port>`,
 * `_alloc.bridgeport.<port>` — whose value names the holder (`{ owner: "<ns>/<name>", uid }`).
 * What a Service holds is read from the *stored* Service only: the store writes the bridge-ports
 * annotation itself, so user input never names an address.
 */
import type { Service } from "../../bus/resources.ts";
import { BRIDGE_PORTS_ANNOTATION, BRIDGE_PORT_RANGE } from "../../bus/service-links.ts";

export const DEFAULT_SERVICE_CIDR = "127.96.0.0/16";
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };
/** Key prefix (and KV filter `_alloc.>`) of every allocation. */
export const ALLOC_PREFIX = "_alloc";

export const AllocationKind = { clusterIP: "clusterip", nodePort: "nodeport", bridgePort: "bridgeport" } as const;
export type AllocationKind = (typeof AllocationKind)[keyof typeof AllocationKind];

export interface AllocationOwner {
  owner: string;
  uid?: string;
}

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}
export function parseCidr(cidr: string): { base: number; size: number } {
  const [ip, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return { base: ipToInt(ip!) & ~(size - 1) >>> 0, size };
}
export function inCidr(ip: string, cidr: string): boolean {
  const { base, size } = parseCidr(cidr);
  const n = ipToInt(ip);
  return n >= base && n < base + size;
}

export const ipKey = (ip: string) => `${ALLOC_PREFIX}.${AllocationKind.clusterIP}.${ip.replaceAll(".", "_")}`;
export const nodePortKey = (p: number) => `${ALLOC_PREFIX}.${AllocationKind.nodePort}.${p}`;
export const bridgePortKey = (p: number) => `${ALLOC_PREFIX}.${AllocationKind.bridgePort}.${p}`;

/** `_alloc.nodeport.30001` → { kind: "nodeport", value: "30001" }; undefined for anything else. */
export function parseAllocationKey(key: string): { kind: AllocationKind; value: string } | undefined {
  const [prefix, kind, ...rest] = key.split(".");
  if (prefix !== ALLOC_PREFIX || !rest.length) return undefined;
  if (kind === AllocationKind.clusterIP) return { kind, value: rest.join(".").replaceAll("_", ".") };
  if (kind === AllocationKind.nodePort || kind === AllocationKind.bridgePort) return { kind, value: rest.join(".") };
  return undefined;
}

export const hasClusterIP = (svc: Service) => svc.spec?.type !== "ExternalName" && !!svc.spec?.clusterIP && svc.spec.clusterIP !== "None";
export const hasNodePorts = (svc: Service) => svc.spec?.type === "NodePort" || svc.spec?.type === "LoadBalancer";

const isPort = (v: unknown, range: { min: number; max: number }): v is number => Number.isInteger(v) && (v as number) >= range.min && (v as number) <= range.max;

/** The bridge ports the store recorded on a stored Service (anything malformed is ignored). */
export function storedBridgePorts(svc: Service): Record<string, number> {
  const raw = svc.metadata?.annotations?.[BRIDGE_PORTS_ANNOTATION];
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed)) if (isPort(v, BRIDGE_PORT_RANGE)) out[k] = v;
  return out;
}

/** What a stored Service holds, each address once. */
export interface Held {
  clusterIP?: string;
  nodePorts: number[];
  bridgePorts: number[];
}

export function heldBy(svc: Service): Held {
  const nodePorts = hasNodePorts(svc) ? (svc.spec.ports ?? []).map((p) => p.nodePort).filter((p): p is number => isPort(p, NODE_PORT_RANGE)) : [];
  return {
    clusterIP: hasClusterIP(svc) ? svc.spec.clusterIP : undefined,
    nodePorts: [...new Set(nodePorts)],
    bridgePorts: hasClusterIP(svc) ? [...new Set(Object.values(storedBridgePorts(svc)))] : [],
  };
}

/** The allocation keys a stored Service holds. */
export function heldKeys(svc: Service): string[] {
  const h = heldBy(svc);
  return [...(h.clusterIP ? [ipKey(h.clusterIP)] : []), ...h.nodePorts.map(nodePortKey), ...h.bridgePorts.map(bridgePortKey)];
}

export function ownerOf(svc: Service): AllocationOwner {
  return { owner: `${svc.metadata.namespace}/${svc.metadata.name}`, uid: svc.metadata.uid };
}

/** Whether an allocation key's value names this Service (keys written before uids were recorded name it by ns/name). */
export function ownedBy(value: AllocationOwner | undefined, svc: Service): boolean {
  if (!value) return false;
  if (value.uid) return value.uid === svc.metadata.uid;
  return value.owner === ownerOf(svc).owner;
}

export function decodeOwner(data: Uint8Array): AllocationOwner | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as AllocationOwner;
    return v && typeof v === "object" && typeof v.owner === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
