/**
 * The scheduler's cache: node infos (allocatable, requested cpu/memory/pods, used host ports) and
 * pods indexed by namespace and label, updated incrementally as nodes and pods change — never
 * rebuilt per pod. `assume` places a pod at once (before its bind commits); `forget` undoes it.
 *
 * @example
 *   const snap = new Snapshot();
 *   snap.upsertNode(node);
 *   snap.upsertPod(podInfo(boundPod));
 *   snap.assume(podInfo(pending), "n1");
 */
import type { Labels, Node } from "../../bus/resources.ts";
import type { Requirement } from "../../bus/selectors.ts";
import type { NodeInfo, Placed, PodInfo, SnapshotView, StorageView } from "./types.ts";
import { matchesRequirements } from "../../bus/selectors.ts";
import { milliCpu, units } from "../../bus/quantity.ts";

const DEFAULT_MAX_PODS = 110;

function allocatableOf(node: Node): NodeInfo["allocatable"] {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return { cpu: milliCpu(a.cpu), memory: units(a.memory), pods: a.pods !== undefined ? units(a.pods) : DEFAULT_MAX_PODS };
}

const portKey = (protocol: string, port: number) => `${protocol}/${port}`;

export class Snapshot implements SnapshotView {
  /** Set by the scheduler from its claim, volume and class informers. */
  storage?: StorageView;
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly list: NodeInfo[] = [];
  private readonly index = new Map<string, number>();
  private readonly placed = new Map<string, Placed>();
  /** Placed pods by node name, including nodes not (yet) known. */
  private readonly byNode = new Map<string, Set<Placed>>();
  /** Keys whose placement is assumed: bind sent, not yet seen bound. */
  private readonly assumed = new Set<string>();
  /** namespace → "k=v" → placed pods; namespace → all placed pods. */
  private readonly byLabel = new Map<string, Map<string, Set<Placed>>>();
  private readonly byNamespace = new Map<string, Set<Placed>>();
  private readonly antiAffinity = new Set<Placed>();
  /** label key → value → node count. */
  private readonly domainIndex = new Map<string, Map<string, number>>();

  get nodeList(): readonly NodeInfo[] {
    return this.list;
  }
  get podCount(): number {
    return this.placed.size;
  }
  node(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }
  placement(key: string): Placed | undefined {
    return this.placed.get(key);
  }
  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  // ---------- nodes ----------
  upsertNode(node: Node): NodeInfo {
    const name = node.metadata.name!;
    const cur = this.nodes.get(name);
    const labels = node.metadata.labels ?? {};
    if (cur) {
      this.indexDomains(cur.labels, -1);
      cur.node = node;
      cur.labels = labels;
      cur.taints = node.spec?.taints ?? [];
      cur.unschedulable = node.spec?.unschedulable === true;
      cur.allocatable = allocatableOf(node);
      this.indexDomains(labels, 1);
      return cur;
    }
    const info: NodeInfo = {
      name,
      node,
      labels,
      taints: node.spec?.taints ?? [],
      unschedulable: node.spec?.unschedulable === true,
      allocatable: allocatableOf(node),
      requested: { cpu: 0, memory: 0 },
      nonZeroRequested: { cpu: 0, memory: 0 },
      usedPorts: new Map(),
      pods: new Map(),
    };
    this.nodes.set(name, info);
    this.index.set(name, this.list.length);
    this.list.push(info);
    this.indexDomains(labels, 1);
    // Pods seen before their node (watch order is not guaranteed across resources).
    for (const pl of this.byNode.get(name) ?? []) this.account(info, pl.info, 1);
    return info;
  }

  removeNode(name: string): void {
    const info = this.nodes.get(name);
    if (!info) return;
    this.indexDomains(info.labels, -1);
    this.nodes.delete(name);
    const i = this.index.get(name)!;
    const last = this.list.pop()!;
    if (last !== info) {
      this.list[i] = last;
      this.index.set(last.name, i);
    }
    this.index.delete(name);
  }

  domains(topologyKey: string): ReadonlyMap<string, number> {
    return this.domainIndex.get(topologyKey) ?? EMPTY;
  }

  private indexDomains(labels: Labels, delta: number): void {
    for (const [k, v] of Object.entries(labels)) {
      let m = this.domainIndex.get(k);
      if (!m) this.domainIndex.set(k, (m = new Map()));
      const n = (m.get(v) ?? 0) + delta;
      if (n <= 0) m.delete(v);
      else m.set(v, n);
    }
  }

  // ---------- pods ----------
  /** Records a pod seen from the watch: a bound, non-terminal pod is placed; anything else is not. */
  upsertPod(p: PodInfo): void {
    if (!p.nodeName || p.terminal) {
      // Not bound yet but assumed: keep the assumption until the bind commits or fails.
      if (!p.terminal && this.assumed.has(p.key)) return;
      this.removePod(p.key);
      return;
    }
    this.assumed.delete(p.key);
    this.place(p, p.nodeName);
  }

  /** Places a pod on a node before its bind commits. */
  assume(p: PodInfo, nodeName: string): void {
    this.assumed.add(p.key);
    this.place(p, nodeName);
  }

  /** Undoes an assumption (a failed bind). A pod already seen bound stays placed. */
  forget(key: string): void {
    if (this.assumed.has(key)) this.removePod(key);
  }

  removePod(key: string): void {
    this.assumed.delete(key);
    const old = this.placed.get(key);
    if (!old) return;
    const n = this.nodes.get(old.node);
    if (n) this.account(n, old.info, -1);
    this.unindex(old);
    this.placed.delete(key);
  }

  private place(p: PodInfo, node: string): void {
    const old = this.placed.get(p.key);
    if (old) {
      const n = this.nodes.get(old.node);
      if (n) this.account(n, old.info, -1);
      this.unindex(old);
    }
    const pl: Placed = { info: p, node };
    this.placed.set(p.key, pl);
    this.indexPod(pl);
    const n = this.nodes.get(node);
    if (n) this.account(n, p, 1);
  }

  private account(n: NodeInfo, p: PodInfo, d: 1 | -1): void {
    if (d === 1) n.pods.set(p.key, p);
    else if (n.pods.get(p.key) === p) n.pods.delete(p.key);
    else return;
    n.requested.cpu += d * p.requests.cpu;
    n.requested.memory += d * p.requests.memory;
    n.nonZeroRequested.cpu += d * p.nonZero.cpu;
    n.nonZeroRequested.memory += d * p.nonZero.memory;
    for (const hp of p.ports) {
      const k = portKey(hp.protocol, hp.port);
      const ips = n.usedPorts.get(k) ?? [];
      if (d === 1) ips.push(hp.ip);
      else ips.splice(ips.indexOf(hp.ip), 1);
      if (ips.length === 0) n.usedPorts.delete(k);
      else n.usedPorts.set(k, ips);
    }
  }

  private indexPod(pl: Placed): void {
    const p = pl.info;
    let byNode = this.byNode.get(pl.node);
    if (!byNode) this.byNode.set(pl.node, (byNode = new Set()));
    byNode.add(pl);
    let ns = this.byNamespace.get(p.namespace);
    if (!ns) this.byNamespace.set(p.namespace, (ns = new Set()));
    ns.add(pl);
    let lm = this.byLabel.get(p.namespace);
    if (!lm) this.byLabel.set(p.namespace, (lm = new Map()));
    for (const k in p.labels) {
      const kv = `${k}=${p.labels[k]}`;
      let s = lm.get(kv);
      if (!s) lm.set(kv, (s = new Set()));
      s.add(pl);
    }
    if (p.requiredAntiAffinity.length > 0) this.antiAffinity.add(pl);
  }

  private unindex(pl: Placed): void {
    const p = pl.info;
    const byNode = this.byNode.get(pl.node);
    byNode?.delete(pl);
    if (byNode?.size === 0) this.byNode.delete(pl.node);
    this.byNamespace.get(p.namespace)?.delete(pl);
    const lm = this.byLabel.get(p.namespace);
    for (const k in p.labels) {
      const kv = `${k}=${p.labels[k]}`;
      const s = lm?.get(kv);
      s?.delete(pl);
      if (s && s.size === 0) lm!.delete(kv);
    }
    this.antiAffinity.delete(pl);
  }

  *matchingPods(namespaces: ReadonlySet<string> | null, reqs: Requirement[]): Iterable<Placed> {
    for (const ns of namespaces ?? this.byNamespace.keys()) {
      // Narrow by the rarest equality requirement, then check the whole selector.
      let candidates: Set<Placed> | undefined = this.byNamespace.get(ns);
      for (const r of reqs) {
        if (!candidates) break;
        if (r.op !== "=" && !(r.op === "in" && r.values.length === 1)) continue;
        const v = r.op === "=" ? r.value : (r as { values: string[] }).values[0];
        const s = this.byLabel.get(ns)?.get(`${r.key}=${v}`);
        if (!s || s.size < candidates.size) candidates = s;
      }
      if (!candidates) continue;
      for (const pl of candidates) if (matchesRequirements(reqs, pl.info.labels)) yield pl;
    }
  }

  podsWithRequiredAntiAffinity(): Iterable<Placed> {
    return this.antiAffinity;
  }
}

const EMPTY: ReadonlyMap<string, number> = new Map();
