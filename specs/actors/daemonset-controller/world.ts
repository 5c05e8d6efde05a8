/**
 * A tiny in-memory cluster for the DaemonSet decision specs: it applies commands the way the store,
 * the scheduler and the kubelets would (a created pod is bound to the node its affinity names and
 * becomes Ready when `tick` says so), so whole rollouts can be stepped and checked.
 */
import type { ControllerRevision, DaemonSet, Node, Pod, Taint } from "../../../bus/resources.ts";
import type { DsCommand, DsView } from "../../../actors/daemonset-controller/daemonset.ts";
import { targetNode } from "../../../actors/daemonset-controller/placement.ts";

export const T0 = Date.parse("2026-03-01T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function node(name: string, opts: { labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid: `node-${name}`, labels: { "kubernetes.io/hostname": name, ...(opts.labels ?? {}) } },
    spec: opts.taints ? { taints: opts.taints } : {},
  };
}

export function daemonSet(spec: Partial<DaemonSet["spec"]> = {}, image = "agent:1"): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "default", uid: "ds-uid", generation: 1, creationTimestamp: iso(T0 - 60_000) },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "agent", image }], restartPolicy: "Always" } },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
      ...spec,
    },
    status: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
  };
}

export function readyCondition(at: number) {
  return [{ type: "Ready", status: "True" as const, lastTransitionTime: iso(at) }];
}

export class World {
  ds: DaemonSet;
  nodes: Node[];
  pods: Pod[] = [];
  revisions: ControllerRevision[] = [];
  now = T0;
  backoff = new Map<string, number>();
  events: string[] = [];
  private seq = 0;

  constructor(ds: DaemonSet, nodes: Node[]) {
    this.ds = ds;
    this.nodes = nodes;
  }

  view(expectationsSatisfied = true): DsView {
    return { ds: this.ds, nodes: this.nodes, pods: this.pods, revisions: this.revisions, expectationsSatisfied, backoffUntil: this.backoff };
  }

  /** Applies commands; new pods are bound at once and Running but not Ready. */
  apply(commands: readonly DsCommand[]): void {
    for (const c of commands) {
      switch (c.type) {
        case "revision.create":
          this.revisions.push({ ...structuredClone(c.revision), metadata: { ...c.revision.metadata, uid: `rev-${++this.seq}`, creationTimestamp: iso(this.now) } });
          break;
        case "revision.update":
          this.revisions = this.revisions.map((r) => (r.metadata.name === c.revision.metadata.name ? structuredClone(c.revision) : r));
          break;
        case "revision.delete":
          this.revisions = this.revisions.filter((r) => r.metadata.name !== c.name);
          break;
        case "pods.create":
          for (const p of c.pods) {
            const n = ++this.seq;
            const pod = structuredClone(p);
            pod.metadata.name = `${p.metadata.generateName}${n}`;
            pod.metadata.uid = `pod-${n}`;
            pod.metadata.creationTimestamp = iso(this.now + n);
            pod.spec.nodeName = targetNode(p);
            pod.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }] };
            this.pods.push(pod);
          }
          break;
        case "pods.delete": {
          const gone = new Set(c.pods.map((p) => p.uid));
          this.pods = this.pods.filter((p) => !gone.has(p.metadata.uid!));
          break;
        }
        case "pod.adopt":
        case "pod.release":
          this.pods = this.pods.map((p) => (p.metadata.uid === c.pod.metadata.uid ? structuredClone(c.pod) : p));
          break;
        case "daemonset.status":
          this.ds = { ...this.ds, status: c.status };
          break;
        case "node.backoff":
          this.backoff.set(c.node, this.now + 10_000);
          break;
        case "event.record":
          this.events.push(`${c.reason}: ${c.message}`);
          break;
        case "expectations.set":
          break;
      }
    }
  }

  /** Every pod that is not Ready becomes Ready now. */
  readyAll(): void {
    for (const p of this.pods) if (p.status?.conditions?.[0]?.status !== "True") p.status = { phase: "Running", conditions: readyCondition(this.now) };
  }

  podsOn(nodeName: string): Pod[] {
    return this.pods.filter((p) => p.spec.nodeName === nodeName);
  }
}
