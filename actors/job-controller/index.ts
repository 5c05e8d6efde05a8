/**
 * The Job controller (leader-elected, on runtime/controller.ts): informers on jobs and pods enqueue
 * Job keys; `reconcileJob` (job.ts) decides; this file executes through the store. Expectations
 * keep a slow watch from causing double creates; status writes chain their resourceVersion so the
 * counting steps of one pass (uncounted → finalizers removed → counters) each apply with CAS.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: jobController, opts: { backoffBaseMs: 1000 } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Job, KubeObject, Pod } from "../../bus/resources.ts";
import type { Executed } from "../../runtime/controller.ts";
import type { JobCommand, JobView } from "./job.ts";
import { match } from "ts-pattern";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { on, referenceTo, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { Expectations } from "../replication-controller/expectations.ts";
import { createPods, deletePods } from "../workloads/pod-writes.ts";
import { reconcileJob, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS } from "./job.ts";

export interface JobControllerOptions {
  concurrency?: number;
  /** Back-off before a new pod after the first failure (doubles per failure; default 10 s, as Kubernetes). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export async function startJobController(ctx: ActorContext, opts: JobControllerOptions = {}): Promise<Actor> {
  const informer = <T extends KubeObject>(resource: string) => new Informer<T>(ctx.nc, ctx.cluster, { resource, log: ctx.log.child({ informer: resource }) });
  const jobs = informer<Job>("jobs");
  const pods = informer<Pod>("pods");
  const expectations = new Expectations(ctx.now);

  const ownerKey = (o: KubeObject): string | undefined => {
    const ref = controllerRef(o);
    return ref?.kind === "Job" ? `${o.metadata.namespace}/${ref.name}` : undefined;
  };
  const jobsOf = (p: Pod): string[] => {
    const k = ownerKey(p);
    if (k) return [k];
    if (p.metadata.deletionTimestamp) return [];
    return jobs.list(p.metadata.namespace).filter((j) => matchesSelector(j.spec.selector, p.metadata.labels)).map(keyFor);
  };

  return startController<JobView, JobCommand>(ctx, {
    component: "job-controller",
    informers: [jobs, pods],
    watches: [
      on(jobs, { add: keyFor, update: (_o, j) => keyFor(j), delete: (j) => (expectations.forget(keyFor(j)), keyFor(j)) }),
      on(pods, {
        add: (p: Pod) => {
          const k = ownerKey(p);
          if (k && p.metadata.deletionTimestamp) expectations.deletionObserved(k, p.metadata.uid!);
          else if (k) expectations.creationObserved(k);
          return jobsOf(p);
        },
        update: (old: Pod, cur: Pod) => {
          const k = ownerKey(cur);
          if (k && cur.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) expectations.deletionObserved(k, cur.metadata.uid!);
          return [ownerKey(old), ...jobsOf(cur)];
        },
        delete: (p: Pod) => {
          const k = ownerKey(p);
          if (k) expectations.deletionObserved(k, p.metadata.uid!);
          return k;
        },
      }),
    ],
    view: (key) => {
      const { namespace, name } = splitKey(key);
      return {
        job: jobs.get(namespace, name),
        pods: pods.list(namespace),
        expectationsSatisfied: expectations.satisfied(key),
        backoffBaseMs: opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
        backoffMaxMs: opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
      };
    },
    objectOf: (v) => v.job,
    reconcile: reconcileJob,
    execute: (c, { key, view, events }): Promise<Executed<JobView> | void> => {
      const job = view.job!;
      const writes = { store: ctx.store, events, owner: job, expectations: { key, of: expectations } };
      return match(c)
        .with({ type: "expectations.set" }, async (c) => expectations.expect(key, c.creates, c.deleteUids))
        .with({ type: "pod.adopt" }, { type: "pod.release" }, (c) => tolerate(ctx.store.update("pods", c.pod), ErrorCode.NotFound))
        .with({ type: "pods.create" }, async (c) => void (await createPods(writes, c.namespace, c.pods)))
        .with({ type: "pods.delete" }, (c) => deletePods(writes, c.namespace, c.pods))
        .with({ type: "pods.finalize" }, async (c) => {
          const results = await Promise.allSettled(c.pods.map((p) => ctx.store.update("pods", p)));
          const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected" && !isCode(r.reason, ErrorCode.NotFound));
          if (failed) throw failed.reason;
        })
        .with({ type: "job.status" }, async (c) => {
          try {
            return { view: { ...view, job: await ctx.store.updateStatus<Job>("jobs", { ...job, status: c.status }) } };
          } catch (e) {
            if (!isCode(e, ErrorCode.NotFound)) throw e;
          }
        })
        .with({ type: "job.delete" }, (c) =>
          tolerate(ctx.store.delete("jobs", c.namespace, c.name, { propagationPolicy: "Foreground", preconditions: { uid: c.uid } }), ErrorCode.NotFound, ErrorCode.Conflict),
        )
        .with({ type: "event.record" }, async (c) => events.record(referenceTo(job), c.eventType, c.reason, c.message))
        .exhaustive();
    },
    failed: (c, e) => (c.type === "pods.create" ? { reason: "FailedCreate", message: `Error creating: ${e.message}` } : undefined),
    concurrency: opts.concurrency ?? 4,
  });
}

export const jobController: ActorDefinition<JobControllerOptions> = {
  kind: "job-controller",
  leaderElected: true,
  start: (ctx, opts) => startJobController(ctx, opts ?? {}),
};
export default jobController;
