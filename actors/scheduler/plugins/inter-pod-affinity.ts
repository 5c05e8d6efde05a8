/**
 * InterPodAffinity: required pod affinity (the node's domain must hold a matching pod — or, for the
 * first pod of a group that matches its own terms, any domain), required anti-affinity (the node's
 * domain must hold none), and the symmetric rule (existing pods' anti-affinity that matches the
 * incoming pod). As a score, preferred affinity adds and preferred anti-affinity subtracts the term
 * weight per matching pod in the node's domain.
 */
import type { AffinityTerm, FilterPlugin, PodInfo, ScorePlugin, SnapshotView } from "../types.ts";
import { termMatches } from "../pod-info.ts";
import { countByDomain } from "./topology.ts";
import { minMaxNormalize } from "./normalize.ts";

export const REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";

interface TermCounts {
  term: AffinityTerm;
  counts: Map<string, number>;
}
interface FilterState {
  affinity: TermCounts[];
  skipAffinity: boolean;
  anti: TermCounts[];
  /** topology key → domains forbidden by existing pods' anti-affinity. */
  existing: Map<string, Set<string>>;
}

const counted = (snap: SnapshotView, terms: readonly AffinityTerm[]): TermCounts[] =>
  terms.map((term) => ({ term, counts: countByDomain(snap, term.namespaces, term.reqs, term.topologyKey) }));

function existingAntiAffinity(pod: PodInfo, snap: SnapshotView): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const pl of snap.podsWithRequiredAntiAffinity()) {
    if (pl.info.key === pod.key) continue;
    const node = snap.node(pl.node);
    if (!node) continue;
    for (const t of pl.info.requiredAntiAffinity) {
      const d = node.labels[t.topologyKey];
      if (d === undefined || !termMatches(t, pod)) continue;
      let s = out.get(t.topologyKey);
      if (!s) out.set(t.topologyKey, (s = new Set()));
      s.add(d);
    }
  }
  return out;
}

export const interPodAffinity: FilterPlugin<FilterState> = {
  name: "InterPodAffinity",
  preFilter: (pod, snap) => {
    const existing = existingAntiAffinity(pod, snap);
    if (existing.size === 0 && pod.requiredAffinity.length === 0 && pod.requiredAntiAffinity.length === 0) return undefined;
    const affinity = counted(snap, pod.requiredAffinity);
    const noneMatch = affinity.every((a) => a.counts.size === 0);
    const skipAffinity = noneMatch && pod.requiredAffinity.every((t) => termMatches(t, pod));
    return { affinity, skipAffinity, anti: counted(snap, pod.requiredAntiAffinity), existing };
  },
  filter: (s, _pod, node) => {
    for (const [key, domains] of s.existing) {
      const d = node.labels[key];
      if (d !== undefined && domains.has(d)) return [REASON_EXISTING_ANTI_AFFINITY];
    }
    for (const a of s.anti) {
      const d = node.labels[a.term.topologyKey];
      if (d !== undefined && (a.counts.get(d) ?? 0) > 0) return [REASON_ANTI_AFFINITY];
    }
    if (!s.skipAffinity) {
      for (const a of s.affinity) {
        const d = node.labels[a.term.topologyKey];
        if (d === undefined || (a.counts.get(d) ?? 0) === 0) return [REASON_AFFINITY];
      }
    }
    return undefined;
  },
};

export const interPodAffinityScore: ScorePlugin<{ plus: TermCounts[]; minus: TermCounts[] }> = {
  name: "InterPodAffinity",
  weight: 2,
  preScore: (pod, snap) =>
    pod.preferredAffinity.length + pod.preferredAntiAffinity.length > 0
      ? { plus: counted(snap, pod.preferredAffinity), minus: counted(snap, pod.preferredAntiAffinity) }
      : undefined,
  score: (s, _pod, node) => {
    let v = 0;
    for (const a of s.plus) v += a.term.weight * (a.counts.get(node.labels[a.term.topologyKey] ?? "\u0000") ?? 0);
    for (const a of s.minus) v -= a.term.weight * (a.counts.get(node.labels[a.term.topologyKey] ?? "\u0000") ?? 0);
    return v;
  },
  normalize: minMaxNormalize,
};
