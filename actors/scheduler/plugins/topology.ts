/** Counting placed pods per topology domain (shared by spreading and inter-pod affinity). */
import type { Requirement } from "../../../bus/selectors.ts";
import type { NodeInfo, SnapshotView } from "../types.ts";

/** label value of `topologyKey` → number of placed pods matching the selector in that domain. */
export function countByDomain(
  snap: SnapshotView,
  namespaces: ReadonlySet<string> | null,
  reqs: Requirement[],
  topologyKey: string,
  nodeFilter?: (n: NodeInfo) => boolean,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const pl of snap.matchingPods(namespaces, reqs)) {
    const node = snap.node(pl.node);
    if (!node || (nodeFilter && !nodeFilter(node))) continue;
    const d = node.labels[topologyKey];
    if (d === undefined) continue;
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return counts;
}
