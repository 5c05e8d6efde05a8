/**
 * The latest resource usage of every node, fed by the kubelets' reports on `…metrics.*`
 * (bus/metrics.ts). The api-server serves metrics.k8s.io from it and the HPA controller reads pod
 * usage from it, as both read metrics-server in Kubernetes. A node's report older than `maxAgeMs`
 * (default 60 s, metrics-server's default metric resolution is 15 s) is no longer served.
 *
 * @example
 *   const feed = startMetricsFeed({ nc, subjects: subjects("default"), log });
 *   feed.pod("default", "web-1")   // { timestamp, windowSeconds, containers } | undefined
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeMetricsReport, PodMetricsReport } from "../bus/metrics.ts";
import type { Subjects } from "../bus/subjects.ts";
import type { Logger } from "./logger.ts";
import { decodeNodeMetricsReport } from "../bus/metrics.ts";
import { decodeUntrusted } from "../bus/codec.ts";

export interface PodMetricsView extends PodMetricsReport {
  node: string;
  timestamp: string;
  windowSeconds: number;
}

export interface MetricsSource {
  nodes(): NodeMetricsReport[];
  node(name: string): NodeMetricsReport | undefined;
  pods(namespace?: string): PodMetricsView[];
  pod(namespace: string, name: string): PodMetricsView | undefined;
}

/** An in-memory MetricsSource: `put` a report, read the fresh ones. Pure apart from the clock. */
export class MetricsCache implements MetricsSource {
  private byNode = new Map<string, { report: NodeMetricsReport; receivedAt: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs = 60_000,
  ) {}

  put(report: NodeMetricsReport): void {
    this.byNode.set(report.node, { report, receivedAt: this.now() });
  }

  nodes(): NodeMetricsReport[] {
    const t = this.now();
    const out: NodeMetricsReport[] = [];
    for (const [name, e] of this.byNode) {
      if (t - e.receivedAt > this.maxAgeMs) this.byNode.delete(name);
      else out.push(e.report);
    }
    return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  node(name: string): NodeMetricsReport | undefined {
    return this.nodes().find((n) => n.node === name);
  }

  pods(namespace?: string): PodMetricsView[] {
    const out: PodMetricsView[] = [];
    for (const n of this.nodes()) {
      for (const p of n.pods) if (namespace === undefined || p.namespace === namespace) out.push({ ...p, node: n.node, timestamp: n.timestamp, windowSeconds: n.windowSeconds });
    }
    return out;
  }

  pod(namespace: string, name: string): PodMetricsView | undefined {
    return this.pods(namespace).find((p) => p.name === name);
  }
}

export interface MetricsFeedOptions {
  nc: NatsConnection;
  subjects: Subjects;
  log: Logger;
  now?: () => number;
  maxAgeMs?: number;
}

/** Subscribes to every node's reports; `stop()` unsubscribes. */
export function startMetricsFeed(o: MetricsFeedOptions): MetricsSource & { stop(): void } {
  const cache = new MetricsCache(o.now, o.maxAgeMs);
  let warned = false;
  const sub = o.nc.subscribe(o.subjects.nodeMetricsAll(), {
    callback: (_e, m) => {
      try {
        const report = decodeNodeMetricsReport(decodeUntrusted(m.data, m.subject));
        // A node reports only for itself: the subject names it.
        if (m.subject !== o.subjects.nodeMetrics(report.node)) throw new Error(`report for ${report.node} on ${m.subject}`);
        cache.put(report);
      } catch (e) {
        if (!warned) o.log.warn("ignoring a malformed metrics report", { subject: m.subject, error: (e as Error).message });
        warned = true;
      }
    },
  });
  return {
    nodes: () => cache.nodes(),
    node: (n) => cache.node(n),
    pods: (ns) => cache.pods(ns),
    pod: (ns, n) => cache.pod(ns, n),
    stop: () => sub.unsubscribe(),
  };
}
