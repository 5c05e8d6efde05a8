/**
 * The resource quota controller (leader-elected), as kube-controller-manager's: every
 * ResourceQuota's `status.hard` mirrors its spec and `status.used` is the usage of the objects in
 * its namespace, recomputed when the quota or a pod of the namespace changes and every few
 * seconds (for `count/<resource>` of types it does not watch). Admission in the store charges
 * creates against it in between.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: quotaController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { KubeObject, Pod } from "../../bus/resources.ts";
import type { ResourceQuota } from "../../bus/quota.ts";
import type { QuotaCommand, QuotaView } from "./usage.ts";
import { match } from "ts-pattern";
import { ErrorCode } from "../../bus/errors.ts";
import { parseAmounts, trackedTypes } from "../../bus/quota.ts";
import { Informer, keyFor } from "../../runtime/informer.ts";
import { on, startController, tolerate } from "../../runtime/controller.ts";
import { reconcileQuota } from "./usage.ts";

export async function startQuotaController(ctx: ActorContext): Promise<Actor> {
  const quotas = new Informer<ResourceQuota>(ctx.nc, ctx.cluster, { resource: "resourcequotas", log: ctx.log });
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: ctx.log });
  const quotasOf = (o: KubeObject) => quotas.list(o.metadata.namespace ?? "").map(keyFor);
  return startController<QuotaView, QuotaCommand>(ctx, {
    component: "resourcequota-controller",
    informers: [quotas, pods],
    watches: [
      on(quotas, { add: keyFor, update: (_o, q) => keyFor(q) }),
      on(pods, { add: quotasOf, update: (_o, p) => quotasOf(p), delete: quotasOf }),
    ],
    async view(key) {
      const [namespace, name] = key.split("/") as [string, string];
      const quota = quotas.get(namespace, name);
      const objects: QuotaView["objects"] = new Map();
      if (!quota) return { quota, objects };
      for (const t of trackedTypes(parseAmounts(quota.spec?.hard))) {
        const items =
          t.resource === "pods" && !t.group
            ? pods.list(namespace)
            : await ctx.store.list(t.resource, namespace).then((l) => l.items, () => []);
        objects.set(`${t.resource}.${t.group}`, { ...t, items });
      }
      return { quota, objects };
    },
    objectOf: (v) => v.quota,
    reconcile: (_key, v) => reconcileQuota(v),
    execute: (c) =>
      match(c)
        .with({ type: "quota.status" }, (c) => tolerate(ctx.store.updateStatus("resourcequotas", { ...c.quota, status: c.status }), ErrorCode.NotFound))
        .exhaustive(),
  });
}

export const quotaController: ActorDefinition = {
  kind: "quota-controller",
  leaderElected: true,
  start: (ctx) => startQuotaController(ctx),
};
