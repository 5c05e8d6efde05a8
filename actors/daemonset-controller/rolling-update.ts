/**
 * A DaemonSet's RollingUpdate step (Kubernetes' daemon controller rollingUpdate): which old pods to
 * delete and on which nodes to start new ones, within maxUnavailable / maxSurge. Pure.
 */
import type { DaemonSet, Pod } from "../../bus/resources.ts";
import type { DsView } from "./daemonset.ts";
import { isPodAvailable } from "../replication-controller/pods.ts";
import { REVISION_HASH_LABEL } from "../workloads/revisions.ts";
import { scaled } from "../deployment-controller/strategy.ts";
import { placement } from "./placement.ts";

/** newPod / oldPod on a node, or undefined when it has more than one of either (manage cleans up). */
function splitByHash(pods: readonly Pod[], hash: string): { fresh?: Pod; old?: Pod } | undefined {
  let fresh: Pod | undefined;
  let old: Pod | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (p.metadata.labels?.[REVISION_HASH_LABEL] === hash) {
      if (fresh) return undefined;
      fresh = p;
    } else {
      if (old) return undefined;
      old = p;
    }
  }
  return { fresh, old };
}

/** Nodes the DaemonSet should run on (desiredNumberScheduled). */
export const desiredNodes = (ds: DaemonSet, nodes: DsView["nodes"]) => nodes.filter((n) => placement(ds.spec.template, n).shouldRun);

export function rollingBudget(ds: DaemonSet, desired: number): { maxSurge: number; maxUnavailable: number } {
  const ru = ds.spec.updateStrategy?.rollingUpdate ?? {};
  const maxSurge = scaled(ru.maxSurge, "0", desired, true);
  let maxUnavailable = scaled(ru.maxUnavailable, "1", desired, true);
  if (desired > 0 && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

/** rollingUpdate: the old pods to delete and the nodes to start new pods on, within the budget. */
export function rollingUpdate(ds: DaemonSet, view: DsView, byNode: Map<string, Pod[]>, hash: string, now: number): { deletes: Pod[]; createOn: string[] } {
  const minReady = ds.spec.minReadySeconds ?? 0;
  const available = (p: Pod) => isPodAvailable(p, minReady, now);
  const nodes = new Map(view.nodes.map((n) => [n.metadata.name!, n]));
  const { maxSurge, maxUnavailable } = rollingBudget(ds, desiredNodes(ds, view.nodes).length);
  const entries = [...byNode].filter(([node]) => nodes.has(node)).sort(([a], [b]) => a.localeCompare(b));
  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: Pod[] = [];
    const candidates: Pod[] = [];
    for (const [, pods] of entries) {
      const s = splitByHash(pods, hash);
      if (!s || (!s.fresh && !s.old) || (s.fresh && s.old)) unavailable++;
      else if (s.fresh) {
        if (!available(s.fresh)) unavailable++;
      } else if (!available(s.old!)) {
        // Replaced at once, outside the budget, but it counts as unavailable (as in Kubernetes).
        replace.push(s.old!);
        unavailable++;
      } else if (unavailable < maxUnavailable) candidates.push(s.old!);
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    return { deletes: [...replace, ...candidates.slice(0, room)], createOn: [] };
  }
  const deletes: Pod[] = [];
  const shouldNotRun: Pod[] = [];
  const allowed: string[] = [];
  const candidates: string[] = [];
  let surged = 0;
  let numAvailable = 0;
  for (const [node, pods] of entries) {
    const s = splitByHash(pods, hash);
    if (!s) {
      surged++;
      continue;
    }
    if (s.old ? available(s.old) : s.fresh && available(s.fresh)) numAvailable++;
    if (!s.old) continue;
    const shouldRun = placement(ds.spec.template, nodes.get(node)!).shouldRun;
    if (!s.fresh) {
      if (!available(s.old)) {
        if (!shouldRun) deletes.push(s.old);
        else allowed.push(node);
      } else if (!shouldRun) shouldNotRun.push(s.old);
      else if (surged < maxSurge) candidates.push(node);
    } else if (!available(s.fresh)) surged++;
    else deletes.push(s.old);
  }
  const deletable = Math.min(numAvailable - desiredNodes(ds, view.nodes).length, shouldNotRun.length);
  if (deletable > 0) deletes.push(...shouldNotRun.slice(0, deletable));
  const room = Math.min(Math.max(0, maxSurge - surged), candidates.length);
  return { deletes, createOn: [...allowed, ...candidates.slice(0, room)] };
}
