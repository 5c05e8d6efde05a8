/**
 * The ServiceAccounts controller (leader-elected) on runtime/controller.ts: namespace keys, two
 * informers, `reconcile` from accounts.ts, one exhaustive executor (a create that meets
 * AlreadyExists is done).
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: serviceAccountController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Namespace, ServiceAccount } from "../../bus/resources.ts";
import type { AccountCommand, AccountView } from "./accounts.ts";
import { match } from "ts-pattern";
import { ErrorCode } from "../../bus/errors.ts";
import { Informer } from "../../runtime/informer.ts";
import { on, startController, tolerate } from "../../runtime/controller.ts";
import { DEFAULT_SERVICE_ACCOUNT, reconcile } from "./accounts.ts";

export async function startServiceAccountController(ctx: ActorContext): Promise<Actor> {
  const namespaces = new Informer<Namespace>(ctx.nc, ctx.cluster, { resource: "namespaces", log: ctx.log });
  const accounts = new Informer<ServiceAccount>(ctx.nc, ctx.cluster, { resource: "serviceaccounts", filter: (a) => a.metadata.name === DEFAULT_SERVICE_ACCOUNT, log: ctx.log });
  const ns = (o: Namespace | ServiceAccount) => o.metadata.namespace || o.metadata.name;
  return startController<AccountView, AccountCommand>(ctx, {
    component: "service-account-controller",
    informers: [namespaces, accounts],
    watches: [on(namespaces, { add: ns, update: (_old, n) => ns(n) }), on(accounts, { delete: ns })],
    view: (key) => ({ namespace: namespaces.get(undefined, key), serviceAccount: accounts.get(key, DEFAULT_SERVICE_ACCOUNT) }),
    objectOf: (v) => v.namespace,
    reconcile,
    execute: (c) =>
      match(c)
        .with({ type: "serviceaccount.create" }, (c) => tolerate(ctx.store.create("serviceaccounts", c.serviceAccount.metadata.namespace, c.serviceAccount), ErrorCode.AlreadyExists))
        .exhaustive(),
  });
}

export const serviceAccountController: ActorDefinition<Record<string, never>> = {
  kind: "serviceaccount-controller",
  leaderElected: true,
  start: (ctx) => startServiceAccountController(ctx),
};
