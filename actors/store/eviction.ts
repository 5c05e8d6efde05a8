/**
 * The eviction subresource's budget check (policy/v1 Eviction): before a pod is deleted by an
 * eviction, the PodDisruptionBudget that covers it must allow a disruption; the eviction then
 * charges the budget with a CAS write of its status (one disruption fewer, the pod noted), so two
 * evictions at once cannot both spend the last one. A refused eviction is 429 TooManyRequests, and
 * `kubectl drain` retries it.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pod } from "../../bus/resources.ts";
import type { Buckets } from "../../bus/kv.ts";
import type { Objects } from "./objects.ts";
import type { PodDisruptionBudget } from "../../bus/disruption.ts";
import { resourceType } from "../../bus/kinds.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { evictionVerdict, charged, selects } from "../../bus/disruption.ts";
import { listPage } from "./list.ts";
import { isConflict } from "./errors.ts";

const PDBS = resourceType("poddisruptionbudgets")!;

/** Checks and charges the budget of `pod`; throws TooManyRequests when the eviction would break it. */
export async function chargeBudget(nc: NatsConnection, buckets: Buckets, objects: Objects, pod: Pod, now: Date): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const budgets = (await listPage(nc, buckets, PDBS, pod.metadata.namespace, {})).items as PodDisruptionBudget[];
    const verdict = evictionVerdict(budgets, pod);
    if (verdict.allow && !verdict.charge) return;
    if (!verdict.allow) {
      if (verdict.code === "Internal") throw new FlotillaError(ErrorCode.Internal, verdict.message);
      throw new FlotillaError(ErrorCode.TooManyRequests, verdict.message, {
        details: { causes: [{ reason: "DisruptionBudget", message: verdict.cause ?? "", field: "" }] },
      });
    }
    const pdb = budgets.find((b) => selects(b, pod))!;
    try {
      await objects.update(PDBS, charged(pdb, pod.metadata.name!, now), Number(pdb.metadata.resourceVersion));
      return;
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }
  throw new FlotillaError(ErrorCode.TooManyRequests, "Cannot evict pod as it would violate the pod's disruption budget.", { details: { retryAfterSeconds: 1 } });
}
