/**
 * The ClusterRole aggregation controller (leader-elected) on runtime/controller.ts: one informer
 * of ClusterRoles; any change enqueues every aggregated ClusterRole, whose rules are then
 * recomputed by aggregate.ts and written with CAS.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: clusterRoleAggregationController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { ClusterRole } from "../../bus/resources.ts";
import type { AggregationCommand, AggregationView } from "./aggregate.ts";
import { match } from "ts-pattern";
import { Informer } from "../../runtime/informer.ts";
import { on, startController } from "../../runtime/controller.ts";
import { reconcile } from "./aggregate.ts";

export async function startAggregationController(ctx: ActorContext): Promise<Actor> {
  const roles = new Informer<ClusterRole>(ctx.nc, ctx.cluster, { resource: "clusterroles", log: ctx.log });
  const aggregated = () => roles.list().filter((r) => r.aggregationRule).map((r) => r.metadata.name);
  return startController<AggregationView, AggregationCommand>(ctx, {
    component: "clusterrole-aggregation-controller",
    informers: [roles],
    watches: [on(roles, { add: aggregated, update: aggregated, delete: aggregated })],
    view: (key) => ({ clusterRole: roles.get(undefined, key), all: roles.list() }),
    objectOf: (v) => v.clusterRole,
    reconcile,
    execute: (c) =>
      match(c)
        .with({ type: "clusterrole.update" }, async (c) => void (await ctx.store.update("clusterroles", c.clusterRole)))
        .exhaustive(),
  });
}

export const clusterRoleAggregationController: ActorDefinition<Record<string, never>> = {
  kind: "clusterrole-aggregation-controller",
  leaderElected: true,
  start: (ctx) => startAggregationController(ctx),
};
