/**
 * The allocation repair pass (pure), as kube-apiserver's ClusterIP and NodePort repair controllers
 * do it: from a list of the Services and of the allocation keys, find
 * - addresses two Services hold (an Event on every holder but the oldest: `…AlreadyAllocated`),
 * - addresses a Service holds without a key (the key is claimed again: `…NotAllocated`),
 * - ClusterIPs and NodePorts outside the configured ranges (`…OutOfRange`),
 * - keys no Service holds (leaks): freed once the same key, unchanged, has been seen leaked for
 *   `leakGraceMs` — a write claims its addresses before the Service lands, so a fresh claim looks
 *   leaked for a moment.
 * Events are reported once for as long as the problem lasts (the memory carries what was said).
 */
import type { Service } from "../../bus/resources.ts";
import type { AllocationOwner, AllocationKind } from "./allocation.ts";
import { NODE_PORT_RANGE, inCidr, ipKey, nodePortKey, bridgePortKey, heldBy, hasNodePorts } from "./allocation.ts";

export const RepairReason = {
  ClusterIPOutOfRange: "ClusterIPOutOfRange",
  ClusterIPAlreadyAllocated: "ClusterIPAlreadyAllocated",
  ClusterIPNotAllocated: "ClusterIPNotAllocated",
  PortOutOfRange: "PortOutOfRange",
  PortAlreadyAllocated: "PortAlreadyAllocated",
  PortNotAllocated: "PortNotAllocated",
  BridgePortAlreadyAllocated: "BridgePortAlreadyAllocated",
  BridgePortNotAllocated: "BridgePortNotAllocated",
} as const;
export type RepairReason = (typeof RepairReason)[keyof typeof RepairReason];

export interface AllocationEntry {
  key: string;
  revision: number;
  owner?: AllocationOwner;
}

export interface RepairView {
  services: readonly Service[];
  allocations: readonly AllocationEntry[];
  cidr: string;
}

export interface RepairMemory {
  /** Keys seen leaked: the revision they had and when they were first seen so. */
  leaks: ReadonlyMap<string, { revision: number; since: number }>;
  /** Events already reported (`<reason>/<uid>/<address>`). */
  reported: ReadonlySet<string>;
}

export interface RepairEvent {
  service: Service;
  reason: RepairReason;
  message: string;
}

export type RepairCommand =
  | { type: "free"; key: string; revision: number }
  | { type: "claim"; key: string; service: Service; event: RepairEvent }
  | { type: "event"; event: RepairEvent };

export const emptyMemory = (): RepairMemory => ({ leaks: new Map(), reported: new Set() });

interface Address {
  key: string;
  kind: AllocationKind;
  label: string;
}

function addressesOf(svc: Service): Address[] {
  const h = heldBy(svc);
  return [
    ...(h.clusterIP ? [{ key: ipKey(h.clusterIP), kind: "clusterip" as const, label: h.clusterIP }] : []),
    ...h.nodePorts.map((p) => ({ key: nodePortKey(p), kind: "nodeport" as const, label: String(p) })),
    ...h.bridgePorts.map((p) => ({ key: bridgePortKey(p), kind: "bridgeport" as const, label: String(p) })),
  ];
}

const REASONS: Record<AllocationKind, { dup: RepairReason; missing: RepairReason; what: (label: string) => string }> = {
  clusterip: { dup: RepairReason.ClusterIPAlreadyAllocated, missing: RepairReason.ClusterIPNotAllocated, what: (l) => `Cluster IP [IPv4]: ${l}` },
  nodeport: { dup: RepairReason.PortAlreadyAllocated, missing: RepairReason.PortNotAllocated, what: (l) => `Port ${l}` },
  bridgeport: { dup: RepairReason.BridgePortAlreadyAllocated, missing: RepairReason.BridgePortNotAllocated, what: (l) => `Bridge port ${l}` },
};

const byAge = (a: Service, b: Service) =>
  (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
  `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);

export function planRepair(view: RepairView, memory: RepairMemory, now: number, leakGraceMs: number): { commands: RepairCommand[]; memory: RepairMemory } {
  const commands: RepairCommand[] = [];
  const reported = new Set<string>();
  const report = (event: RepairEvent, address: string, claimKey?: string) => {
    const id = `${event.reason}/${event.service.metadata.uid}/${address}`;
    reported.add(id);
    if (claimKey) commands.push({ type: "claim", key: claimKey, service: event.service, event });
    else if (!memory.reported.has(id)) commands.push({ type: "event", event });
  };
  const holders = new Map<string, { address: Address; services: Service[] }>();
  for (const svc of [...view.services].sort(byAge)) {
    if (hasNodePorts(svc)) {
      for (const p of svc.spec.ports ?? []) {
        if (p.nodePort && (p.nodePort < NODE_PORT_RANGE.min || p.nodePort > NODE_PORT_RANGE.max)) {
          report({ service: svc, reason: RepairReason.PortOutOfRange, message: `Port ${p.nodePort} is not within the port range ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}; please recreate service` }, String(p.nodePort));
        }
      }
    }
    for (const a of addressesOf(svc)) {
      if (a.kind === "clusterip" && !inCidr(a.label, view.cidr)) {
        report({ service: svc, reason: RepairReason.ClusterIPOutOfRange, message: `Cluster IP [IPv4]: ${a.label} is not within the configured Service CIDR ${view.cidr}; please recreate service` }, a.label);
        continue;
      }
      const h = holders.get(a.key) ?? { address: a, services: [] };
      h.services.push(svc);
      holders.set(a.key, h);
    }
  }
  const allocated = new Map(view.allocations.map((e) => [e.key, e]));
  for (const [key, { address, services }] of holders) {
    const r = REASONS[address.kind];
    for (const svc of services.slice(1)) {
      report({ service: svc, reason: r.dup, message: `${r.what(address.label)} was assigned to multiple services; please recreate service` }, address.label);
    }
    if (!allocated.has(key)) {
      report({ service: services[0]!, reason: r.missing, message: `${r.what(address.label)} is not allocated; repairing` }, address.label, key);
    }
  }
  const leaks = new Map<string, { revision: number; since: number }>();
  for (const e of view.allocations) {
    if (holders.has(e.key)) continue;
    const seen = memory.leaks.get(e.key);
    const since = seen && seen.revision === e.revision ? seen.since : now;
    if (now - since >= leakGraceMs) commands.push({ type: "free", key: e.key, revision: e.revision });
    else leaks.set(e.key, { revision: e.revision, since });
  }
  return { commands, memory: { leaks, reported } };
}
