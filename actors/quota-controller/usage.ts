/**
 * The quota controller's decision (pure): a ResourceQuota's status is its hard limits and the
 * usage of the objects in its namespace, recomputed from the objects themselves (which also gives
 * back what a create that failed after its charge had taken).
 */
import type { KubeObject } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";
import type { ResourceQuota } from "../../bus/quota.ts";
import { parseAmounts, formatAmounts, usageOfAll } from "../../bus/quota.ts";

export interface QuotaView {
  quota: ResourceQuota | undefined;
  /** The namespace's objects of each type the quota tracks, by `<resource>.<group>`. */
  objects: Map<string, { resource: string; group: string; items: KubeObject[] }>;
}

export type QuotaCommand = { type: "quota.status"; quota: ResourceQuota; status: NonNullable<ResourceQuota["status"]> };

/** Look again this often: `count/<resource>` of any type is not watched. */
export const QUOTA_RESYNC_MS = 5_000;

export function reconcileQuota(view: QuotaView): Decision<QuotaCommand> {
  const q = view.quota;
  if (!q || q.metadata.deletionTimestamp) return { commands: [] };
  const hardText = q.spec?.hard ?? {};
  const hard = parseAmounts(hardText);
  const keys = Object.keys(hard);
  const used: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  for (const t of view.objects.values()) {
    const u = usageOfAll(t.resource, t.group, t.items, keys);
    for (const [k, n] of Object.entries(u)) used[k] = (used[k] ?? 0) + n;
  }
  const status = { hard: { ...hardText }, used: formatAmounts(used) };
  const same = JSON.stringify(sorted(status.hard)) === JSON.stringify(sorted(q.status?.hard ?? {})) && JSON.stringify(sorted(status.used)) === JSON.stringify(sorted(q.status?.used ?? {}));
  return { commands: same ? [] : [{ type: "quota.status", quota: q, status }], requeueAfterMs: QUOTA_RESYNC_MS };
}

function sorted(m: Record<string, string>): [string, string][] {
  return Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1));
}
