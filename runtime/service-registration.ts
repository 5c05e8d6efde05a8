/**
 * A selector-less Service whose Endpoints are the live replicas of an actor — the api-servers for
 * `default/kubernetes` (so in-cluster clients find the API as in Kubernetes), the dns actors for
 * `kube-system/kube-dns`. Each replica holds a Lease `kube-system/<component>-<hash>` naming the
 * address it serves on and renews it; every replica keeps the Endpoints equal to the addresses of
 * the unexpired Leases (Kubernetes' "lease" endpoint reconciler). A stopping replica removes itself
 * at once; a killed one drops out when its Lease expires.
 *
 * @example
 *   const k = await registerServiceEndpoint({ store, log, now, service: kubernetesService(6443), address: "10.0.0.5", ports: [6443] });
 *   await k.stop();
 */
import type { EndpointPort, EndpointSubset, Endpoints, Lease, Service, ServiceSpec } from "../bus/resources.ts";
import type { StoreClient } from "../bus/store-client.ts";
import type { Logger } from "./logger.ts";
import { createHash } from "node:crypto";
import { ErrorCode, isCode } from "../bus/errors.ts";
import { rfc3339Micro } from "../bus/time.ts";

export interface RegisteredService {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** The Service's spec (no selector: its Endpoints are ours). */
  spec: ServiceSpec;
  /** The Lease label value that marks this component's replicas. */
  component: string;
  /** The Endpoints' port names/protocols, in the order of `ports` given at registration. */
  endpointPorts: Omit<EndpointPort, "port">[];
}

/** `default/kubernetes`: 443 → each api-server's port (at `clusterIP` when given: the service CIDR's first address, as kube-apiserver reserves it). */
export const kubernetesService = (port: number, clusterIP?: string): RegisteredService => ({
  namespace: "default",
  name: "kubernetes",
  labels: { component: "apiserver", provider: "kubernetes" },
  spec: { type: "ClusterIP", ...(clusterIP ? { clusterIP } : {}), sessionAffinity: "None", ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port }] },
  component: "kube-apiserver",
  endpointPorts: [{ name: "https", protocol: "TCP" }],
});

/** The Lease label naming the component a replica's Lease belongs to. */
export const IDENTITY_LABEL = "apiserver.kubernetes.io/identity";
const LEASE_NAMESPACE = "kube-system";

/** The Endpoints subsets for the replicas of `component` whose Leases are still live. Pure. */
export function liveSubsets(leases: readonly Lease[], nowMs: number, component: string, endpointPorts: RegisteredService["endpointPorts"]): EndpointSubset[] {
  const byPorts = new Map<string, Set<string>>();
  for (const l of leases) {
    if (l.metadata.labels?.[IDENTITY_LABEL] !== component || l.metadata.deletionTimestamp) continue;
    const renewed = l.spec.renewTime ? Date.parse(l.spec.renewTime) : NaN;
    if (!(renewed + (l.spec.leaseDurationSeconds ?? 0) * 1000 > nowMs)) continue;
    // holderIdentity: `<ip>:<port>[,<port>…]` in the order of endpointPorts.
    const m = /^([^,]+):(\d+(?:,\d+)*)$/.exec(l.spec.holderIdentity ?? "");
    if (!m) continue;
    byPorts.set(m[2]!, (byPorts.get(m[2]!) ?? new Set()).add(m[1]!));
  }
  return [...byPorts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ports, ips]) => ({
      addresses: [...ips].sort().map((ip) => ({ ip })),
      ports: ports.split(",").map((p, i) => ({ ...endpointPorts[i], port: Number(p) })),
    }));
}

export interface RegistrationOptions {
  store: StoreClient;
  log: Logger;
  now: () => number;
  service: RegisteredService;
  /** The address clients reach this replica at, and its ports (in the order of `endpointPorts`). */
  address: string;
  ports: number[];
  /** Lease duration (default 15 s); renewed every third of it. */
  leaseSeconds?: number;
}

const notFound = (e: unknown) => isCode(e, ErrorCode.NotFound);
/** Another api-server got there first: the next round sees its write. */
const benign = (e: unknown) => isCode(e, ErrorCode.AlreadyExists) || isCode(e, ErrorCode.Conflict);
const unlessBenign = (e: unknown) => {
  if (!benign(e)) throw e;
};

export async function registerServiceEndpoint(o: RegistrationOptions): Promise<{ stop(): Promise<void> }> {
  const leaseSeconds = o.leaseSeconds ?? 15;
  const S = o.service;
  const identity = `${o.address}:${o.ports.join(",")}`;
  const leaseName = `${S.component}-${createHash("sha256").update(`${S.namespace}/${S.name}/${identity}`).digest("hex").slice(0, 20)}`;

  const ensureService = async () => {
    try {
      await o.store.get<Service>("services", S.namespace, S.name);
    } catch (e) {
      if (!notFound(e)) throw e;
      const svc = { apiVersion: "v1", kind: "Service", metadata: { name: S.name, namespace: S.namespace, labels: S.labels }, spec: S.spec } satisfies Service;
      await o.store.create("services", S.namespace, svc).catch(unlessBenign);
    }
  };

  const renewLease = async () => {
    const spec = { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, renewTime: rfc3339Micro(o.now()) };
    try {
      const l = await o.store.get<Lease>("leases", LEASE_NAMESPACE, leaseName);
      await o.store.update("leases", { ...l, spec: { ...l.spec, ...spec } });
    } catch (e) {
      if (!notFound(e)) throw e;
      const lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: leaseName, namespace: LEASE_NAMESPACE, labels: { [IDENTITY_LABEL]: S.component } },
        spec: { ...spec, acquireTime: spec.renewTime },
      } satisfies Lease;
      await o.store.create("leases", LEASE_NAMESPACE, lease).catch(unlessBenign);
    }
  };

  const reconcileEndpoints = async (exclude?: string) => {
    const leases = (await o.store.list<Lease>("leases", LEASE_NAMESPACE)).items.filter((l) => l.metadata.name !== exclude);
    const subsets = liveSubsets(leases, o.now(), S.component, S.endpointPorts);
    let current: Endpoints | undefined;
    try {
      current = await o.store.get<Endpoints>("endpoints", S.namespace, S.name);
    } catch (e) {
      if (!notFound(e)) throw e;
    }
    if (current && JSON.stringify(current.subsets ?? []) === JSON.stringify(subsets)) return;
    const body: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: S.name, namespace: S.namespace, labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
      subsets,
    };
    if (current) await o.store.update("endpoints", { ...current, subsets }).catch(unlessBenign);
    else await o.store.create("endpoints", S.namespace, body).catch(unlessBenign);
  };

  const round = async () => {
    try {
      await ensureService();
      await renewLease();
      await reconcileEndpoints();
    } catch (e) {
      o.log.warn("could not update the Service's endpoints; retrying", { service: `${S.namespace}/${S.name}`, error: String(e) });
    }
  };
  await round();
  const timer = setInterval(() => void round(), (leaseSeconds * 1000) / 3);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      try {
        await o.store.delete("leases", LEASE_NAMESPACE, leaseName);
        await reconcileEndpoints(leaseName);
      } catch (e) {
        o.log.debug("could not remove this replica from the Service's endpoints", { service: `${S.namespace}/${S.name}`, error: String(e) });
      }
    },
  };
}
