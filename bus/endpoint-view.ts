/**
 * How the proxy and the DNS read a Service's endpoints: from its EndpointSlices (every slice
 * labelled `kubernetes.io/service-name`, whoever manages it), and from its Endpoints only when it
 * has no slice (a cluster without the endpointslice controller). The slices are shown in the
 * Endpoints shape both already consume: ready endpoints in `addresses`, the others (not ready,
 * terminating) in `notReadyAddresses`, one subset per slice. Pure.
 *
 * @example
 *   const ep = endpointsView(service, slices.byIndex(SLICES_BY_SERVICE, "default/web"), endpoints.get("default", "web"));
 */
import type { EndpointAddress, EndpointSubset, Endpoints, Service } from "./resources.ts";
import type { EndpointSlice } from "./networking.ts";
import { SERVICE_NAME_LABEL } from "./networking.ts";

/** The informer index name and function that find a Service's slices by `<namespace>/<service>`. */
export const SLICES_BY_SERVICE = "service";
export const slicesByService = (s: EndpointSlice): string[] => {
  const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
  return svc ? [`${s.metadata.namespace}/${svc}`] : [];
};

export function endpointsFromSlices(namespace: string, name: string, slices: readonly EndpointSlice[]): Endpoints {
  const subsets: EndpointSubset[] = [];
  for (const s of [...slices].sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)))) {
    if (s.addressType === "FQDN") continue;
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const e of s.endpoints ?? []) {
      const ip = e.addresses[0];
      if (!ip) continue;
      const a: EndpointAddress = { ip };
      if (e.nodeName) a.nodeName = e.nodeName;
      if (e.hostname) a.hostname = e.hostname;
      if (e.targetRef) a.targetRef = e.targetRef;
      // Kubernetes: a missing `ready` means ready.
      (e.conditions?.ready !== false ? ready : notReady).push(a);
    }
    const sub: EndpointSubset = {};
    if (ready.length) sub.addresses = ready;
    if (notReady.length) sub.notReadyAddresses = notReady;
    const ports = (s.ports ?? []).filter((p) => p.port !== undefined && p.port !== null).map((p) => ({ port: p.port!, protocol: p.protocol ?? "TCP", ...(p.name ? { name: p.name } : {}), ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
    if (ports.length) sub.ports = ports;
    if (sub.addresses || sub.notReadyAddresses) subsets.push(sub);
  }
  return { apiVersion: "v1", kind: "Endpoints", metadata: { name, namespace }, subsets };
}

/** The endpoints of a Service: its slices when it has any, else its Endpoints. */
export function endpointsView(svc: Pick<Service, "metadata">, slices: readonly EndpointSlice[], endpoints: Endpoints | undefined): Endpoints | undefined {
  if (slices.length === 0) return endpoints;
  return endpointsFromSlices(svc.metadata.namespace ?? "default", svc.metadata.name ?? "", slices);
}
