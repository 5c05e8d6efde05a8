/**
 * Kubernetes' ClusterRole aggregation controller, the pure step: a ClusterRole with an
 * `aggregationRule` holds the rules of every other ClusterRole its selectors match, in name order,
 * each distinct rule once. Its own rules are controller-owned: an edit is put back.
 */
import type { ClusterRole, PolicyRule } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";
import { matchesSelector } from "../../bus/selectors.ts";

export type AggregationCommand = { type: "clusterrole.update"; clusterRole: ClusterRole };

export interface AggregationView {
  clusterRole?: ClusterRole;
  /** Every ClusterRole in the cache. */
  all: readonly ClusterRole[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The rules an aggregated ClusterRole should hold. */
export function aggregatedRules(role: ClusterRole, all: readonly ClusterRole[]): PolicyRule[] {
  const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
  const rules: PolicyRule[] = [];
  const sources = all
    .filter((r) => r.metadata.name !== role.metadata.name && selectors.some((s) => matchesSelector(s, r.metadata.labels ?? {})))
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  for (const src of sources) for (const rule of src.rules ?? []) if (!rules.some((r) => same(r, rule))) rules.push(rule);
  return rules;
}

export function reconcile(_key: string, v: AggregationView): Decision<AggregationCommand> {
  const role = v.clusterRole;
  if (!role?.aggregationRule || role.metadata.deletionTimestamp) return { commands: [] };
  const rules = aggregatedRules(role, v.all);
  if (same(role.rules ?? [], rules)) return { commands: [] };
  return { commands: [{ type: "clusterrole.update", clusterRole: { ...role, rules } }] };
}
