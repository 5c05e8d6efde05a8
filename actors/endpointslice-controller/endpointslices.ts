/**
 * Pure EndpointSlice computation (Kubernetes' endpointslice and endpointslice-mirroring
 * controllers) for one Service key:
 * - a Service with a selector: its selected pods, grouped by the ports they resolve to, in slices
 *   of at most 100 endpoints, managed by `endpointslice-controller.k8s.io`. Terminating pods stay
 *   in (ready false, serving as their readiness says, terminating true), as Kubernetes keeps them;
 * - a Service without a selector whose Endpoints someone writes: those Endpoints mirrored, managed
 *   by `endpointslicemirroring-controller.k8s.io` (unless labelled
 *   `endpointslice.kubernetes.io/skip-mirror: "true"`);
 * - no Service (or one being deleted): its slices go.
 * Slice names are `<service>-<hash of the port set>[-<n>]`, so a pass that runs twice writes the
 * same objects; each slice is owned by its Service (the garbage collector follows it too).
 */
import type { Endpoints, OwnerReference, Pod, Service } from "../../bus/resources.ts";
import type { EndpointSlice, SliceEndpoint, SlicePort } from "../../bus/networking.ts";
import type { Decision } from "../../runtime/controller.ts";
import { createHash } from "node:crypto";
import { DISCOVERY_GROUP, ENDPOINTSLICE_CONTROLLER, MANAGED_BY_LABEL, SERVICE_NAME_LABEL } from "../../bus/networking.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { canonical, eligible, podIsReady, reachablePort, resolveTargetPort } from "../../bus/pod-endpoints.ts";

export const MIRRORING_CONTROLLER = "endpointslicemirroring-controller.k8s.io";
export const SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror";
export const MAX_ENDPOINTS_PER_SLICE = 100;

export type SliceCommand =
  | { type: "endpointslice.create"; slice: EndpointSlice }
  | { type: "endpointslice.update"; slice: EndpointSlice }
  | { type: "endpointslice.delete"; namespace: string; name: string };

export interface SliceView {
  key: { namespace: string; name: string };
  service?: Service;
  /** The Service's Endpoints (read only for a Service without a selector). */
  endpoints?: Endpoints;
  /** The slices labelled with this service's name. */
  slices: readonly EndpointSlice[];
  pods: readonly Pod[];
}

interface Group {
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

const family = (ip: string) => (ip.includes(":") ? "IPv6" : "IPv4");

function podEndpoint(pod: Pod, publishNotReady: boolean): SliceEndpoint {
  const terminating = !!pod.metadata.deletionTimestamp;
  const serving = podIsReady(pod);
  const e: SliceEndpoint = {
    addresses: [pod.status!.podIP!],
    conditions: { ready: publishNotReady || (serving && !terminating), serving: publishNotReady || serving, terminating },
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name!, uid: pod.metadata.uid },
  };
  if (pod.spec.nodeName) e.nodeName = pod.spec.nodeName;
  if (pod.spec.hostname) e.hostname = pod.spec.hostname;
  return e;
}

function groupsFromPods(svc: Service, pods: readonly Pod[]): Map<string, Group> {
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  const groups = new Map<string, Group>();
  for (const pod of pods) {
    if (pod.metadata.namespace !== svc.metadata.namespace) continue;
    if (!matchesSelector({ matchLabels: svc.spec.selector ?? {} }, pod.metadata.labels)) continue;
    // Terminating pods stay in slices (eligible() leaves them out of Endpoints only).
    if (!eligible(pod, true)) continue;
    const ports: SlicePort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const cp = resolveTargetPort(sp, pod);
      if (cp === undefined) continue;
      ports.push({ name: sp.name ?? "", port: reachablePort(pod, cp), protocol: sp.protocol ?? "TCP", ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
    if ((svc.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    add(groups, `${family(pod.status!.podIP!)}${JSON.stringify(sortPorts(ports))}`, sortPorts(ports), podEndpoint(pod, publishNotReady));
  }
  return groups;
}

function groupsFromEndpoints(ep: Endpoints): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const s of ep.subsets ?? []) {
    const ports = sortPorts((s.ports ?? []).map((p) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP", ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })));
    for (const [ready, list] of [[true, s.addresses ?? []], [false, s.notReadyAddresses ?? []]] as const) {
      for (const a of list) {
        const e: SliceEndpoint = { addresses: [a.ip], conditions: { ready, serving: ready, terminating: false } };
        if (a.nodeName) e.nodeName = a.nodeName;
        if (a.hostname) e.hostname = a.hostname;
        if (a.targetRef) e.targetRef = { kind: a.targetRef.kind, name: a.targetRef.name, ...(a.targetRef.namespace ? { namespace: a.targetRef.namespace } : {}), ...(a.targetRef.uid ? { uid: a.targetRef.uid } : {}) };
        add(groups, `${family(a.ip)}${JSON.stringify(ports)}`, ports, e);
      }
    }
  }
  return groups;
}

function add(groups: Map<string, Group>, key: string, ports: SlicePort[], e: SliceEndpoint): void {
  let g = groups.get(key);
  if (!g) groups.set(key, (g = { ports, endpoints: [] }));
  g.endpoints.push(e);
}

const sortPorts = (ps: SlicePort[]) => [...ps].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || (a.port ?? 0) - (b.port ?? 0));
const byAddress = (a: SliceEndpoint, b: SliceEndpoint) => a.addresses[0]!.localeCompare(b.addresses[0]!) || (a.targetRef?.name ?? "").localeCompare(b.targetRef?.name ?? "");
const shortHash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 5);

/** The slices a service should have, by name. */
export function desiredSlices(svc: Service, source: { pods: readonly Pod[] } | { endpoints: Endpoints }): EndpointSlice[] {
  const managedBy = "pods" in source ? ENDPOINTSLICE_CONTROLLER : MIRRORING_CONTROLLER;
  const groups = "pods" in source ? groupsFromPods(svc, source.pods) : groupsFromEndpoints(source.endpoints);
  const ns = svc.metadata.namespace ?? "default";
  const name = svc.metadata.name!;
  const owner: OwnerReference = { apiVersion: "v1", kind: "Service", name, uid: svc.metadata.uid ?? "", controller: true, blockOwnerDeletion: true };
  const out: EndpointSlice[] = [];
  const keys = [...groups.keys()].sort();
  // A selector Service with no endpoints still gets one (empty) slice, as Kubernetes keeps one.
  if (keys.length === 0 && "pods" in source) {
    groups.set("IPv4[]", { ports: sortPorts((svc.spec.ports ?? []).map((p) => ({ name: p.name ?? "", protocol: p.protocol ?? "TCP" }))), endpoints: [] });
    keys.push("IPv4[]");
  }
  for (const k of keys) {
    const g = groups.get(k)!;
    const eps = [...g.endpoints].sort(byAddress);
    const chunks = Math.max(1, Math.ceil(eps.length / MAX_ENDPOINTS_PER_SLICE));
    for (let i = 0; i < chunks; i++) {
      out.push({
        apiVersion: `${DISCOVERY_GROUP}/v1`,
        kind: "EndpointSlice",
        metadata: {
          name: `${name}-${shortHash(k)}${i > 0 ? `-${i}` : ""}`,
          namespace: ns,
          labels: { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: managedBy },
          ownerReferences: [owner],
        },
        addressType: k.startsWith("IPv6") ? "IPv6" : "IPv4",
        endpoints: eps.slice(i * MAX_ENDPOINTS_PER_SLICE, (i + 1) * MAX_ENDPOINTS_PER_SLICE),
        ports: g.ports,
      });
    }
  }
  return out;
}

const content = (s: EndpointSlice) => canonical({ labels: s.metadata.labels ?? {}, owners: s.metadata.ownerReferences ?? [], addressType: s.addressType, endpoints: s.endpoints ?? [], ports: s.ports ?? [] });

export function reconcile(_key: string, v: SliceView): Decision<SliceCommand> {
  const { service: svc, key } = v;
  const ours = v.slices.filter((s) => [ENDPOINTSLICE_CONTROLLER, MIRRORING_CONTROLLER].includes(s.metadata.labels?.[MANAGED_BY_LABEL] ?? ""));
  let want: EndpointSlice[] = [];
  if (svc && !svc.metadata.deletionTimestamp && svc.spec.type !== "ExternalName") {
    if (svc.spec.selector) want = desiredSlices(svc, { pods: v.pods });
    else if (v.endpoints && v.endpoints.metadata.labels?.[SKIP_MIRROR_LABEL] !== "true") want = desiredSlices(svc, { endpoints: v.endpoints });
  }
  const commands: SliceCommand[] = [];
  const have = new Map(ours.map((s) => [s.metadata.name!, s]));
  for (const w of want) {
    const cur = have.get(w.metadata.name!);
    if (!cur) commands.push({ type: "endpointslice.create", slice: w });
    else if (content(cur) !== content(w)) commands.push({ type: "endpointslice.update", slice: { ...cur, metadata: { ...cur.metadata, labels: w.metadata.labels, ownerReferences: w.metadata.ownerReferences }, addressType: w.addressType, endpoints: w.endpoints ?? [], ports: w.ports ?? [] } });
  }
  const wanted = new Set(want.map((w) => w.metadata.name));
  for (const s of ours) if (!wanted.has(s.metadata.name)) commands.push({ type: "endpointslice.delete", namespace: key.namespace, name: s.metadata.name! });
  return { commands };
}
