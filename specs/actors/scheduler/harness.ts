/**
 * A small harness for scheduler specs (in the style of Nomad's scheduler tests): build nodes and
 * pods fluently, put them in a snapshot, run `schedule`, assert the plan.
 *
 * @example
 *   const h = cluster([node("a").cpu("1"), node("b").cpu("4")], [pod("x").cpu("500m").on("a")]);
 *   expectPlaced(h.plan(pod("p").cpu("2")), "b");
 */
import { expect } from "chai";
import type { Node, Pod, Taint, Toleration, PodAffinityTerm, NodeSelectorRequirement, TopologySpreadConstraint, Labels } from "../../../bus/resources.ts";
import type { Decision, ScheduleOptions } from "../../../actors/scheduler/schedule.ts";
import { Snapshot } from "../../../actors/scheduler/snapshot.ts";
import { podInfo } from "../../../actors/scheduler/pod-info.ts";
import { schedule } from "../../../actors/scheduler/schedule.ts";

export class NodeBuilder {
  readonly n: Node;
  constructor(name: string) {
    this.n = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name } },
      spec: {},
      status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110" } },
    };
  }
  cpu(q: string): this {
    this.n.status!.allocatable!.cpu = q;
    return this;
  }
  memory(q: string): this {
    this.n.status!.allocatable!.memory = q;
    return this;
  }
  pods(n: number): this {
    this.n.status!.allocatable!.pods = String(n);
    return this;
  }
  label(k: string, v: string): this {
    this.n.metadata.labels![k] = v;
    return this;
  }
  zone(z: string): this {
    return this.label("topology.kubernetes.io/zone", z);
  }
  taint(key: string, value: string | undefined, effect: Taint["effect"] = "NoSchedule"): this {
    (this.n.spec.taints ??= []).push(value === undefined ? { key, effect } : { key, value, effect });
    return this;
  }
  cordon(): this {
    this.n.spec.unschedulable = true;
    return this;
  }
  build(): Node {
    return structuredClone(this.n);
  }
}

let podSeq = 0;
export class PodBuilder {
  readonly p: Pod;
  constructor(name: string, namespace = "default") {
    this.p = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, uid: `uid-${name}-${podSeq++}`, labels: {}, creationTimestamp: new Date(1_700_000_000_000 + podSeq).toISOString() },
      spec: { containers: [{ name: "c", image: "busybox", resources: { requests: {} } }] },
    };
  }
  private get req(): Record<string, string> {
    return this.p.spec.containers[0]!.resources!.requests!;
  }
  cpu(q: string): this {
    this.req.cpu = q;
    return this;
  }
  memory(q: string): this {
    this.req.memory = q;
    return this;
  }
  label(k: string, v: string): this {
    this.p.metadata.labels![k] = v;
    return this;
  }
  labels(l: Labels): this {
    Object.assign(this.p.metadata.labels!, l);
    return this;
  }
  on(node: string): this {
    this.p.spec.nodeName = node;
    return this;
  }
  nodeSelector(l: Labels): this {
    this.p.spec.nodeSelector = l;
    return this;
  }
  tolerate(t: Toleration): this {
    (this.p.spec.tolerations ??= []).push(t);
    return this;
  }
  hostPort(port: number, hostIP?: string, protocol: "TCP" | "UDP" = "TCP"): this {
    (this.p.spec.containers[0]!.ports ??= []).push({ containerPort: port, hostPort: port, protocol, ...(hostIP ? { hostIP } : {}) });
    return this;
  }
  requireNode(...exprs: NodeSelectorRequirement[]): this {
    const na = ((this.p.spec.affinity ??= {}).nodeAffinity ??= {});
    (na.requiredDuringSchedulingIgnoredDuringExecution ??= { nodeSelectorTerms: [] }).nodeSelectorTerms.push({ matchExpressions: exprs });
    return this;
  }
  preferNode(weight: number, ...exprs: NodeSelectorRequirement[]): this {
    const na = ((this.p.spec.affinity ??= {}).nodeAffinity ??= {});
    (na.preferredDuringSchedulingIgnoredDuringExecution ??= []).push({ weight, preference: { matchExpressions: exprs } });
    return this;
  }
  podAffinity(kind: "podAffinity" | "podAntiAffinity", term: PodAffinityTerm, weight?: number): this {
    const a = ((this.p.spec.affinity ??= {})[kind] ??= {});
    if (weight === undefined) (a.requiredDuringSchedulingIgnoredDuringExecution ??= []).push(term);
    else (a.preferredDuringSchedulingIgnoredDuringExecution ??= []).push({ weight, podAffinityTerm: term });
    return this;
  }
  spread(c: TopologySpreadConstraint): this {
    (this.p.spec.topologySpreadConstraints ??= []).push(c);
    return this;
  }
  /** A persistentVolumeClaim volume named after the claim. */
  claim(claimName: string): this {
    (this.p.spec.volumes ??= []).push({ name: claimName, persistentVolumeClaim: { claimName } });
    return this;
  }
  priority(n: number): this {
    this.p.spec.priority = n;
    return this;
  }
  phase(ph: "Succeeded" | "Failed" | "Running"): this {
    this.p.status = { phase: ph };
    return this;
  }
  build(): Pod {
    return structuredClone(this.p);
  }
}

export const node = (name: string) => new NodeBuilder(name);
export const pod = (name: string, namespace?: string) => new PodBuilder(name, namespace);

export interface Harness {
  snap: Snapshot;
  plan(p: PodBuilder | Pod, opts?: ScheduleOptions): Decision;
}

export function cluster(nodes: (NodeBuilder | Node)[], pods: (PodBuilder | Pod)[] = []): Harness {
  const snap = new Snapshot();
  for (const n of nodes) snap.upsertNode(n instanceof NodeBuilder ? n.build() : n);
  for (const p of pods) snap.upsertPod(podInfo(p instanceof PodBuilder ? p.build() : p));
  return {
    snap,
    plan: (p, opts) => schedule(snap, podInfo(p instanceof PodBuilder ? p.build() : p), { percentageOfNodesToScore: 100, ...opts }),
  };
}

export function expectPlaced(d: Decision, nodeName: string): void {
  if (!("node" in d)) expect.fail(`expected a placement on ${nodeName}, got reasons ${JSON.stringify([...d.reasons])}`);
  expect(d.node).to.equal(nodeName);
}

export function expectUnschedulable(d: Decision, reasons: Record<string, string[]>): void {
  if ("node" in d) expect.fail(`expected no placement, got ${d.node}`);
  expect(Object.fromEntries(d.reasons)).to.deep.equal(reasons);
}

/** The reasons a given node was rejected for (undefined when it was feasible). */
export function rejected(d: Decision, nodeName: string): string[] | undefined {
  return "reasons" in d ? d.reasons.get(nodeName) : undefined;
}
