/**
 * metrics.k8s.io/v1beta1, as metrics-server serves it: NodeMetrics and PodMetrics (get, list, with
 * label and field selectors applied to the Node or Pod they describe), built from the kubelets'
 * latest reports (runtime/metrics-feed.ts). cpu is written in nanocores (`"1234567n"`) and memory
 * in KiB (`"5120Ki"`), as metrics-server writes them. An object whose node has not reported (or
 * reported more than a minute ago) is not found, and a list leaves it out.
 */
import type { ServerResponse } from "node:http";
import type { KubeObject, Node, Pod } from "../../bus/resources.ts";
import type { MetricsSource, PodMetricsView } from "../../runtime/metrics-feed.ts";
import type { NodeMetricsReport, Usage } from "../../bus/metrics.ts";
import type { ResourceRoute } from "./routes.ts";
import type { WatchCache } from "./watch-cache.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { objectFilter } from "../../bus/selectors.ts";
import { rfc3339 } from "../../bus/time.ts";
import { sendJson } from "./http.ts";

const API_VERSION = "metrics.k8s.io/v1beta1";

export function usageQuantities(u: Usage): { cpu: string; memory: string } {
  return { cpu: `${Math.round(u.cpuNanoCores)}n`, memory: `${Math.round(u.memoryWorkingSetBytes / 1024)}Ki` };
}

export function nodeMetricsObject(r: NodeMetricsReport, node: Node | undefined, now: number): KubeObject {
  return {
    kind: "NodeMetrics",
    apiVersion: API_VERSION,
    metadata: { name: r.node, creationTimestamp: rfc3339(now), ...(node?.metadata.labels ? { labels: { ...node.metadata.labels } } : {}) },
    timestamp: r.timestamp,
    window: `${r.windowSeconds}s`,
    usage: usageQuantities(r.usage),
  } as KubeObject;
}

export function podMetricsObject(p: PodMetricsView, pod: Pod | undefined, now: number): KubeObject {
  return {
    kind: "PodMetrics",
    apiVersion: API_VERSION,
    metadata: { name: p.name, namespace: p.namespace, creationTimestamp: rfc3339(now), ...(pod?.metadata.labels ? { labels: { ...pod.metadata.labels } } : {}) },
    timestamp: p.timestamp,
    window: `${p.windowSeconds}s`,
    containers: p.containers.map((c) => ({ name: c.name, usage: usageQuantities(c) })),
  } as KubeObject;
}

export interface MetricsDeps {
  metrics?: MetricsSource;
  cacheFor: (resource: string) => WatchCache | undefined;
  now: () => number;
}

const notFound = (rt: ResourceRoute["rt"], name: string) =>
  new FlotillaError(ErrorCode.NotFound, `${rt.resource}.${rt.group} "${name}" not found`, { details: { kind: rt.resource, group: rt.group, name } });

export function handleMetrics(deps: MetricsDeps, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): void {
  const now = deps.now();
  const source = deps.metrics;
  const cached = <T extends KubeObject>(resource: string, ns: string | undefined, name: string) => deps.cacheFor(resource)?.objects.get(`${ns ?? ""}/${name}`) as T | undefined;
  if (route.rt.kind === "NodeMetrics") {
    if (route.name !== undefined) {
      const r = source?.node(route.name);
      if (!r) throw notFound(route.rt, route.name);
      return sendJson(res, 200, nodeMetricsObject(r, cached<Node>("nodes", undefined, route.name), now));
    }
    const keep = objectFilter("nodes", q.get("labelSelector") ?? undefined, q.get("fieldSelector") ?? undefined);
    const items = (source?.nodes() ?? []).flatMap((r) => {
      const node = cached<Node>("nodes", undefined, r.node);
      return node && keep(node) ? [nodeMetricsObject(r, node, now)] : [];
    });
    return sendJson(res, 200, { kind: "NodeMetricsList", apiVersion: API_VERSION, metadata: {}, items });
  }
  if (route.name !== undefined) {
    const p = source?.pod(route.namespace ?? "", route.name);
    const pod = cached<Pod>("pods", route.namespace, route.name);
    // A report about a pod that was re-created under the same name is not this pod's.
    if (!p || !pod || (pod.metadata.uid && p.uid && pod.metadata.uid !== p.uid)) throw notFound(route.rt, route.name);
    return sendJson(res, 200, podMetricsObject(p, pod, now));
  }
  const keep = objectFilter("pods", q.get("labelSelector") ?? undefined, q.get("fieldSelector") ?? undefined);
  const items = (source?.pods(route.namespace) ?? []).flatMap((p) => {
    const pod = cached<Pod>("pods", p.namespace, p.name);
    return pod && (!p.uid || pod.metadata.uid === p.uid) && keep(pod) ? [podMetricsObject(p, pod, now)] : [];
  });
  items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  return sendJson(res, 200, { kind: "PodMetricsList", apiVersion: API_VERSION, metadata: {}, items });
}
