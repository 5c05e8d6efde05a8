/**
 * The `default/kubernetes` Service, so in-cluster clients find the API as they do in Kubernetes
 * (KUBERNETES_SERVICE_HOST/PORT, `kubernetes.default.svc`). Each api-server holds a Lease
 * `kube-system/apiserver-<hash>` naming the address it serves on and renews it; every api-server
 * keeps the Service's Endpoints equal to the addresses of the unexpired Leases (Kubernetes' "lease"
 * endpoint reconciler). A stopping api-server removes itself at once; a killed one drops out when
 * its Lease expires.
 *
 * @example
 *   const k = await startKubernetesService({ store, log, now, address: "10.0.0.5", port: 6443 });
 *   await k.stop();
 */
import type { StoreClient } from "../../bus/store-client.ts";
import type { EndpointSubset, Endpoints, Lease, Service } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import { createHash } from "node:crypto";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { rfc3339Micro } from "../../bus/time.ts";

export const KUBERNETES_SERVICE = { namespace: "default", name: "kubernetes" } as const;
export const APISERVER_LEASE_LABEL = "apiserver.kubernetes.io/identity";
const LEASE_NAMESPACE = "kube-system";

/** The Endpoints subsets for the api-servers whose Leases are still live. Pure. */
export function apiserverSubsets(leases: readonly Lease[], nowMs: number): EndpointSubset[] {
  const byPort = new Map<number, Set<string>>();
  for (const l of leases) {
    if (l.metadata.labels?.[APISERVER_LEASE_LABEL] !== "kube-apiserver" || l.metadata.deletionTimestamp) continue;
    const renewed = l.spec.renewTime ? Date.parse(l.spec.renewTime) : NaN;
    if (!(renewed + (l.spec.leaseDurationSeconds ?? 0) * 1000 > nowMs)) continue;
    const m = /^(.+):(\d+)$/.exec(l.spec.holderIdentity ?? "");
    if (!m) continue;
    const port = Number(m[2]);
    byPort.set(port, (byPort.get(port) ?? new Set()).add(m[1]!));
  }
  return [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, ips]) => ({ addresses: [...ips].sort().map((ip) => ({ ip })), ports: [{ name: "https", port, protocol: "TCP" as const }] }));
}

export interface KubernetesServiceOptions {
  store: StoreClient;
  log: Logger;
  now: () => number;
  /** The address in-cluster clients reach this api-server at, and its port. */
  address: string;
  port: number;
  /** Lease duration (default 15 s); renewed every third of it. */
  leaseSeconds?: number;
}

const notFound = (e: unknown) => isCode(e, ErrorCode.NotFound);
/** Another api-server got there first: the next round sees its write. */
const benign = (e: unknown) => isCode(e, ErrorCode.AlreadyExists) || isCode(e, ErrorCode.Conflict);
const unlessBenign = (e: unknown) => {
  if (!benign(e)) throw e;
};

export async function startKubernetesService(o: KubernetesServiceOptions): Promise<{ stop(): Promise<void> }> {
  const leaseSeconds = o.leaseSeconds ?? 15;
  const identity = `${o.address}:${o.port}`;
  const leaseName = `apiserver-${createHash("sha256").update(identity).digest("hex").slice(0, 20)}`;

  const ensureService = async () => {
    try {
      await o.store.get<Service>("services", KUBERNETES_SERVICE.namespace, KUBERNETES_SERVICE.name);
    } catch (e) {
      if (!notFound(e)) throw e;
      const svc = {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: KUBERNETES_SERVICE.name, namespace: KUBERNETES_SERVICE.namespace, labels: { component: "apiserver", provider: "kubernetes" } },
        spec: { type: "ClusterIP", sessionAffinity: "None", ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: o.port }] },
      } satisfies Service;
      await o.store.create("services", KUBERNETES_SERVICE.namespace, svc).catch(unlessBenign);
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
        metadata: { name: leaseName, namespace: LEASE_NAMESPACE, labels: { [APISERVER_LEASE_LABEL]: "kube-apiserver" } },
        spec: { ...spec, acquireTime: spec.renewTime },
      } satisfies Lease;
      await o.store.create("leases", LEASE_NAMESPACE, lease).catch(unlessBenign);
    }
  };

  const reconcileEndpoints = async (exclude?: string) => {
    const leases = (await o.store.list<Lease>("leases", LEASE_NAMESPACE)).items.filter((l) => l.metadata.name !== exclude);
    const subsets = apiserverSubsets(leases, o.now());
    let current: Endpoints | undefined;
    try {
      current = await o.store.get<Endpoints>("endpoints", KUBERNETES_SERVICE.namespace, KUBERNETES_SERVICE.name);
    } catch (e) {
      if (!notFound(e)) throw e;
    }
    if (current && JSON.stringify(current.subsets ?? []) === JSON.stringify(subsets)) return;
    const body: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: KUBERNETES_SERVICE.name, namespace: KUBERNETES_SERVICE.namespace, labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
      subsets,
    };
    if (current) await o.store.update("endpoints", { ...current, subsets }).catch(unlessBenign);
    else await o.store.create("endpoints", KUBERNETES_SERVICE.namespace, body).catch(unlessBenign);
  };

  const round = async () => {
    try {
      await ensureService();
      await renewLease();
      await reconcileEndpoints();
    } catch (e) {
      o.log.warn("could not update the kubernetes Service's endpoints; retrying", { error: String(e) });
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
        o.log.debug("could not remove this api-server from the kubernetes Service", { error: String(e) });
      }
    },
  };
}
