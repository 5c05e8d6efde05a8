/**
 * The deployment controller (leader-elected): Deployments → ReplicaSets. Informers (deployments,
 * replicasets) only enqueue Deployment keys; `reconcile` (deployment.ts) decides, this file executes
 * through the store with CAS (a Conflict re-reads via the informer and retries with back-off).
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: deploymentController }, { def: replicationController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Deployment, ReplicaSet } from "../../bus/resources.ts";
import type { DeployCommand, DeployView } from "./deployment.ts";
import type { Executed } from "../../runtime/controller.ts";
import { match } from "ts-pattern";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { on, referenceTo, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { reconcile } from "./deployment.ts";
import { equalIgnoreHash } from "./template.ts";

export interface DeploymentControllerOptions {
  concurrency?: number;
}

/** Look again soon: a ReplicaSet of ours the cache has not seen yet, or a new name after a hash collision. */
const AGAIN_MS = 100;

export async function startDeploymentController(ctx: ActorContext, opts: DeploymentControllerOptions = {}): Promise<Actor> {
  const log = ctx.log;
  const deployments = new Informer<Deployment>(ctx.nc, ctx.cluster, { resource: "deployments", log: log.child({ informer: "deployments" }) });
  const sets = new Informer<ReplicaSet>(ctx.nc, ctx.cluster, { resource: "replicasets", log: log.child({ informer: "replicasets" }) });

  const deploymentsFor = (rs: ReplicaSet): string[] => {
    const ns = rs.metadata.namespace!;
    const ref = controllerRef(rs);
    if (ref) return ref.kind === "Deployment" ? [`${ns}/${ref.name}`] : [];
    return deployments.list(ns).filter((d) => matchesSelector(d.spec.selector, rs.metadata.labels)).map(keyFor);
  };

  return startController<DeployView, DeployCommand>(ctx, {
    component: "deployment-controller",
    informers: [deployments, sets],
    watches: [
      on(deployments, { add: keyFor, update: (_o, d) => keyFor(d), delete: keyFor }),
      on(sets, { add: deploymentsFor, update: (o, rs) => [...deploymentsFor(o), ...deploymentsFor(rs)], delete: deploymentsFor }),
    ],
    view: (key) => {
      const { namespace, name } = splitKey(key);
      return { deployment: deployments.get(namespace, name), replicaSets: sets.list(namespace) };
    },
    objectOf: (v) => v.deployment,
    reconcile,
    execute: (c, { view, events }): Promise<Executed<DeployView> | void> => {
      const d = view.deployment!;
      const ns = d.metadata.namespace!;
      /** Kubernetes' ScalingReplicaSet event on the Deployment ("Scaled up replica set web-5d4 to 3 from 1"). */
      const scaled = (rs: string, from: number, to: number) =>
        events.record(referenceTo(d), "Normal", "ScalingReplicaSet", `Scaled ${to > from ? "up" : "down"} replica set ${rs} to ${to} from ${from}`);
      const written = (deployment: Deployment): Executed<DeployView> => ({ view: { ...view, deployment } });
      return match(c)
        .with({ type: "replicaset.create" }, async (c): Promise<Executed<DeployView> | void> => {
          try {
            await ctx.store.create("replicasets", ns, c.rs);
            if ((c.rs.spec.replicas ?? 0) > 0) scaled(c.rs.metadata.name!, 0, c.rs.spec.replicas ?? 0);
            return;
          } catch (e) {
            if (!isCode(e, ErrorCode.AlreadyExists)) throw e;
          }
          // Ours already (the cache was behind) — or a hash collision: bump collisionCount for a new name.
          const existing = await ctx.store.get<ReplicaSet>("replicasets", ns, c.rs.metadata.name!);
          if (controllerRef(existing)?.uid === d.metadata.uid && equalIgnoreHash(existing.spec.template, d.spec.template)) return { requeueAfterMs: AGAIN_MS };
          const status = { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 };
          log.warn("ReplicaSet name collision", { deployment: keyFor(d), replicaset: c.rs.metadata.name, collisionCount: status.collisionCount });
          return { ...written(await ctx.store.updateStatus<Deployment>("deployments", { ...d, status })), requeueAfterMs: AGAIN_MS };
        })
        .with({ type: "replicaset.update" }, async (c) => {
          const before = sets.get(ns, c.rs.metadata.name!)?.spec.replicas ?? 0;
          await tolerate(
            ctx.store.update("replicasets", c.rs).then(() => (c.rs.spec.replicas ?? 0) !== before && scaled(c.rs.metadata.name!, before, c.rs.spec.replicas ?? 0)),
            ErrorCode.NotFound,
          );
        })
        .with({ type: "replicaset.delete" }, (c) =>
          tolerate(ctx.store.delete("replicasets", c.namespace, c.name, { preconditions: { uid: c.uid } }), ErrorCode.NotFound, ErrorCode.Conflict),
        )
        .with({ type: "deployment.annotate" }, async (c) =>
          written(await ctx.store.update<Deployment>("deployments", { ...d, metadata: { ...d.metadata, annotations: c.annotations } })),
        )
        .with({ type: "deployment.status" }, async (c) => written(await ctx.store.updateStatus<Deployment>("deployments", { ...d, status: c.status })))
        .exhaustive();
    },
    concurrency: opts.concurrency ?? 4,
  });
}

export const deploymentController: ActorDefinition<DeploymentControllerOptions> = {
  kind: "deployment-controller",
  leaderElected: true,
  start: (ctx, opts) => startDeploymentController(ctx, opts ?? {}),
};
export default deploymentController;
