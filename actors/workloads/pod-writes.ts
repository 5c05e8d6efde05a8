/**
 * Pod creates and deletes as the workload controllers execute them: creates in slow-start batches
 * (1, 2, 4, … — a failing batch stops the rest, so a broken template costs one error, not
 * hundreds), deletes with a uid precondition; SuccessfulCreate / SuccessfulDelete Events on the
 * owner; expectations lowered for writes that will never be observed.
 */
import type { DeleteOptions, KubeObject, Pod } from "../../bus/resources.ts";
import type { StoreClient } from "../../bus/store-client.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { Expectations } from "../replication-controller/expectations.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { referenceTo } from "../../runtime/controller.ts";
import { slowStartBatches } from "../replication-controller/replicaset.ts";

export interface PodWriteContext {
  store: StoreClient;
  events: EventRecorder;
  owner: KubeObject;
  /** The owner's expectations key, when the controller tracks expectations. */
  expectations?: { key: string; of: Expectations };
}

export async function createPods(ctx: PodWriteContext, namespace: string, pods: readonly Pod[]): Promise<Pod[]> {
  const made: Pod[] = [];
  let done = 0;
  for (const size of slowStartBatches(pods.length)) {
    const batch = pods.slice(done, done + size);
    const results = await Promise.allSettled(batch.map((p) => ctx.store.create<Pod>("pods", namespace, p)));
    done += batch.length;
    for (const r of results) {
      if (r.status !== "fulfilled") continue;
      made.push(r.value);
      ctx.events.record(referenceTo(ctx.owner), "Normal", "SuccessfulCreate", `Created pod: ${r.value.metadata.name}`);
    }
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length > 0) {
      ctx.expectations?.of.lowerCreates(ctx.expectations.key, failed.length + (pods.length - done));
      throw failed[0]!.reason;
    }
  }
  return made;
}

export async function deletePods(ctx: PodWriteContext, namespace: string, pods: readonly { name: string; uid: string; force?: boolean }[]): Promise<void> {
  const results = await Promise.allSettled(
    pods.map((p) => {
      const options: DeleteOptions = { preconditions: { uid: p.uid }, ...(p.force ? { gracePeriodSeconds: 0 } : {}) };
      return ctx.store.delete("pods", namespace, p.name, options);
    }),
  );
  let first: unknown;
  results.forEach((r, i) => {
    if (r.status === "fulfilled") return ctx.events.record(referenceTo(ctx.owner), "Normal", "SuccessfulDelete", `Deleted pod: ${pods[i]!.name}`);
    // Already gone (or replaced by a namesake): the deletion will never be observed as ours.
    ctx.expectations?.of.deletionObserved(ctx.expectations.key, pods[i]!.uid);
    if (!isCode(r.reason, ErrorCode.NotFound) && !isCode(r.reason, ErrorCode.Conflict)) first ??= r.reason;
  });
  if (first) throw first;
}
