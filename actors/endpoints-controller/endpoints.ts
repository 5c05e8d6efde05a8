/**
 * Pure Endpoints computation (Kubernetes' endpoints controller): a Service with a selector gets an
 * Endpoints object of the same name whose subsets list the selected pods' addresses — ready ones in
 * `addresses`, the others in `notReadyAddresses` — with ports resolved from the pods' containers
 * (a named targetPort is looked up per pod). Process-engine pods share the host's network: the
 * kubelet reports the real host port of each declared containerPort in the annotation
 * `flotilla.io/ports`, and the Endpoints port is that reachable one.
 */
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service, ServicePort } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { podIsReady, eligible, resolveTargetPort, reachablePort, canonical } from "../../bus/pod-endpoints.ts";


export { podIsReady, resolveTargetPort, reachablePort } from "../../bus/pod-endpoints.ts";

function address(pod: Pod): EndpointAddress {
  const a: EndpointAddress = {
    ip: pod.status!.podIP!,
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name!, uid: pod.metadata.uid },
  };
  if (pod.spec.nodeName) a.nodeName = pod.spec.nodeName;
  if (pod.spec.hostname) a.hostname = pod.spec.hostname;
  return a;
}

const byRef = (a: EndpointAddress, b: EndpointAddress) =>
  a.ip.localeCompare(b.ip) || (a.targetRef?.name ?? "").localeCompare(b.targetRef?.name ?? "");

/**
 * Subsets for a service over the given pods. Pods that resolve to the same ports share a subset
 * (Kubernetes repacks the same way); output is sorted so equal inputs give equal outputs.
 */
export function computeSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const selector = svc.spec.selector;
  if (!selector) return [];
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    if (pod.metadata.namespace !== svc.metadata.namespace) continue;
    if (!matchesSelector({ matchLabels: selector }, pod.metadata.labels)) continue;
    if (!eligible(pod, publishNotReady)) continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const cp = resolveTargetPort(sp, pod);
      if (cp === undefined) continue;
      const ep: EndpointPort = { port: reachablePort(pod, cp), protocol: sp.protocol ?? "TCP" };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      ports.push(ep);
    }
    if ((svc.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    ports.sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || a.port - b.port);
    const key = JSON.stringify(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, ready: [], notReady: [] }));
    const ready = publishNotReady || (podIsReady(pod) && !pod.metadata.deletionTimestamp);
    (ready ? g.ready : g.notReady).push(address(pod));
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => {
      const s: EndpointSubset = {};
      if (g.ready.length) s.addresses = g.ready.sort(byRef);
      if (g.notReady.length) s.notReadyAddresses = g.notReady.sort(byRef);
      if (g.ports.length) s.ports = g.ports;
      return s;
    });
}

export type EndpointsCommand =
  | { type: "endpoints.create"; endpoints: Endpoints }
  | { type: "endpoints.update"; endpoints: Endpoints }
  | { type: "endpoints.delete"; namespace: string; name: string };

/** What to write for one service key, given the service (if any), its current Endpoints (if any) and the pods. */
export function decideEndpoints(svc: Service | undefined, current: Endpoints | undefined, pods: readonly Pod[], key: { namespace: string; name: string }): EndpointsCommand[] {
  if (!svc || !svc.spec.selector || svc.metadata.deletionTimestamp) {
    // Endpoints of services without a selector are the user's to manage.
    if (current && (!svc || svc.metadata.deletionTimestamp)) return [{ type: "endpoints.delete", ...key }];
    return [];
  }
  const subsets = computeSubsets(svc, pods);
  const labels = svc.metadata.labels;
  if (!current) {
    const ep: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name: key.name, namespace: key.namespace }, subsets };
    if (labels) ep.metadata.labels = { ...labels };
    return [{ type: "endpoints.create", endpoints: ep }];
  }
  const same = canonical(current.subsets ?? []) === canonical(subsets) && canonical(current.metadata.labels ?? {}) === canonical(labels ?? {});
  if (same) return [];
  const next: Endpoints = { ...current, metadata: { ...current.metadata, labels: labels ? { ...labels } : undefined }, subsets };
  return [{ type: "endpoints.update", endpoints: next }];
}

/** The controller's view of one service key: the service, its Endpoints, the pods of its namespace. */
export interface EndpointsView {
  key: { namespace: string; name: string };
  service?: Service;
  endpoints?: Endpoints;
  pods: readonly Pod[];
}

export function reconcile(_key: string, v: EndpointsView): Decision<EndpointsCommand> {
  return { commands: decideEndpoints(v.service, v.endpoints, v.pods, v.key) };
}

export { canonical } from "../../bus/pod-endpoints.ts";
