/**
 * The disruption controller (leader-elected), as kube-controller-manager's: every
 * PodDisruptionBudget's status — expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed
 * and the DisruptionAllowed condition — computed from the pods its selector picks
 * (bus/disruption.ts), on every change of the budget or of a pod in its namespace. The eviction
 * subresource (actors/store/eviction.ts) spends `disruptionsAllowed`.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: disruptionController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { KubeObject, Pod } from "../../bus/resources.ts";
import type { PodDisruptionBudget } from "../../bus/disruption.ts";
import type { Decision } from "../../runtime/controller.ts";
import { match } from "ts-pattern";
import { ErrorCode } from "../../bus/errors.ts";
import { budgetStatus, DISRUPTED_POD_TIMEOUT_MS } from "../../bus/disruption.ts";
import { Informer, keyFor } from "../../runtime/informer.ts";
import { on, startController, tolerate } from "../../runtime/controller.ts";

export interface BudgetView {
  pdb: PodDisruptionBudget | undefined;
  pods: Pod[];
}
export type BudgetCommand = { type: "pdb.status"; pdb: PodDisruptionBudget; status: NonNullable<PodDisruptionBudget["status"]> };

/** The pure step: the status the budget should have, written when it differs. */
export function reconcileBudget(view: BudgetView, now: number): Decision<BudgetCommand> {
  const pdb = view.pdb;
  if (!pdb || pdb.metadata.deletionTimestamp) return { commands: [] };
  const status = budgetStatus(pdb, view.pods, new Date(now));
  const strip = (s: unknown) => JSON.stringify({ ...(s as object), conditions: undefined });
  const same = pdb.status !== undefined && strip(pdb.status) === strip(status) && pdb.status.conditions?.[0]?.status === status.conditions?.[0]?.status;
  // Disrupted pods age out: look again when the oldest would.
  const requeueAfterMs = status.disruptedPods ? DISRUPTED_POD_TIMEOUT_MS : undefined;
  return { commands: same ? [] : [{ type: "pdb.status", pdb, status }], ...(requeueAfterMs ? { requeueAfterMs } : {}) };
}

export async function startDisruptionController(ctx: ActorContext): Promise<Actor> {
  const pdbs = new Informer<PodDisruptionBudget>(ctx.nc, ctx.cluster, { resource: "poddisruptionbudgets", log: ctx.log });
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: ctx.log });
  const budgetsOf = (o: KubeObject) => pdbs.list(o.metadata.namespace ?? "").map(keyFor);
  return startController<BudgetView, BudgetCommand>(ctx, {
    component: "disruption-controller",
    informers: [pdbs, pods],
    watches: [
      on(pdbs, { add: keyFor, update: (_o, p) => keyFor(p) }),
      on(pods, { add: budgetsOf, update: (_o, p) => budgetsOf(p), delete: budgetsOf }),
    ],
    view(key) {
      const [namespace, name] = key.split("/") as [string, string];
      return { pdb: pdbs.get(namespace, name), pods: pods.list(namespace) };
    },
    objectOf: (v) => v.pdb,
    reconcile: (_key, v, now) => reconcileBudget(v, now),
    execute: (c) =>
      match(c)
        .with({ type: "pdb.status" }, (c) => tolerate(ctx.store.updateStatus("poddisruptionbudgets", { ...c.pdb, status: c.status }), ErrorCode.NotFound))
        .exhaustive(),
  });
}

export const disruptionController: ActorDefinition = {
  kind: "disruption-controller",
  leaderElected: true,
  start: (ctx) => startDisruptionController(ctx),
};
