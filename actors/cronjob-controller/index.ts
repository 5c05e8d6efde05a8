/**
 * The CronJob controller (leader-elected, on runtime/controller.ts): informers on cronjobs and jobs
 * enqueue CronJob keys; `reconcileCronJob` (cronjob.ts) decides and says when the next schedule is
 * due (the key is queued again for that moment); this file executes through the store.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: cronJobController }, { def: jobController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { CronJob, Job, KubeObject } from "../../bus/resources.ts";
import type { Executed } from "../../runtime/controller.ts";
import type { CronJobCommand, CronJobView } from "./cronjob.ts";
import { match } from "ts-pattern";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { on, referenceTo, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { reconcileCronJob, refTo } from "./cronjob.ts";

export interface CronJobControllerOptions {
  concurrency?: number;
}

export async function startCronJobController(ctx: ActorContext, opts: CronJobControllerOptions = {}): Promise<Actor> {
  const informer = <T extends KubeObject>(resource: string) => new Informer<T>(ctx.nc, ctx.cluster, { resource, log: ctx.log.child({ informer: resource }) });
  const cronJobs = informer<CronJob>("cronjobs");
  const jobs = informer<Job>("jobs");
  const ownerKey = (o: KubeObject): string | undefined => {
    const ref = controllerRef(o);
    return ref?.kind === "CronJob" ? `${o.metadata.namespace}/${ref.name}` : undefined;
  };

  return startController<CronJobView, CronJobCommand>(ctx, {
    component: "cronjob-controller",
    informers: [cronJobs, jobs],
    watches: [
      on(cronJobs, { add: keyFor, update: (_o, c) => keyFor(c), delete: keyFor }),
      on(jobs, { add: ownerKey, update: (old, cur) => [ownerKey(old), ownerKey(cur)], delete: ownerKey }),
    ],
    view: async (key) => {
      const { namespace, name } = splitKey(key);
      const cronJob = cronJobs.get(namespace, name);
      const cached = jobs.list(namespace);
      // An active Job this cache has not seen yet (made a moment ago) is read from the store before
      // the CronJob calls it missing, as Kubernetes' controller reads it from the API server.
      const unseen = (cronJob?.status?.active ?? []).filter((r) => r.name && !cached.some((j) => j.metadata.uid === r.uid));
      const read = await Promise.all(
        unseen.map((r) =>
          ctx.store.get<Job>("jobs", r.namespace ?? namespace, r.name!).then(
            (j) => (j.metadata.uid === r.uid ? j : undefined),
            (e: unknown) => {
              if (isCode(e, ErrorCode.NotFound)) return undefined;
              throw e;
            },
          ),
        ),
      );
      return { cronJob, jobs: [...cached, ...read.filter((j): j is Job => j !== undefined)] };
    },
    objectOf: (v) => v.cronJob,
    reconcile: reconcileCronJob,
    execute: (c, { view, events }): Promise<Executed<CronJobView> | void> => {
      const cj = view.cronJob!;
      const ns = cj.metadata.namespace!;
      const writeStatus = async (status: CronJob["status"]): Promise<Executed<CronJobView>> => ({
        view: { ...view, cronJob: await ctx.store.updateStatus<CronJob>("cronjobs", { ...cj, status }) },
      });
      return match(c)
        .with({ type: "cronjob.status" }, async (c) => {
          try {
            return await writeStatus(c.status);
          } catch (e) {
            if (!isCode(e, ErrorCode.NotFound)) throw e;
          }
        })
        .with({ type: "job.start" }, async (c): Promise<Executed<CronJobView> | void> => {
          let job: Job;
          try {
            job = await ctx.store.create<Job>("jobs", ns, c.job);
            events.record(referenceTo(cj), "Normal", "SuccessfulCreate", `Created job ${job.metadata.name}`);
          } catch (e) {
            if (!isCode(e, ErrorCode.AlreadyExists)) {
              events.record(referenceTo(cj), "Warning", "FailedCreate", `Error creating job: ${(e as Error).message}`);
              throw e;
            }
            // Made by an earlier pass whose status write was lost — or by someone else, who keeps it.
            job = await ctx.store.get<Job>("jobs", ns, c.job.metadata.name!);
            if (controllerRef(job)?.uid !== cj.metadata.uid || (cj.status?.active ?? []).some((a) => a.uid === job.metadata.uid)) return;
          }
          return writeStatus({ ...(cj.status ?? {}), active: [...(cj.status?.active ?? []), refTo(job)], lastScheduleTime: c.scheduledTime });
        })
        .with({ type: "job.delete" }, async (c) => {
          await tolerate(
            ctx.store.delete("jobs", c.namespace, c.name, { propagationPolicy: "Background", preconditions: { uid: c.uid } }).then(() =>
              events.record(referenceTo(cj), "Normal", "SuccessfulDelete", `Deleted job ${c.name}`),
            ),
            ErrorCode.NotFound,
            ErrorCode.Conflict,
          );
        })
        .with({ type: "event.record" }, async (c) => events.record(referenceTo(cj), c.eventType, c.reason, c.message))
        .exhaustive();
    },
    concurrency: opts.concurrency ?? 4,
  });
}

export const cronJobController: ActorDefinition<CronJobControllerOptions> = {
  kind: "cronjob-controller",
  leaderElected: true,
  start: (ctx, opts) => startCronJobController(ctx, opts ?? {}),
};
export default cronJobController;
