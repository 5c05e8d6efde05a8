/**
 * The root CA publisher (leader-elected), wired on runtime/controller.ts: namespace keys, two
 * informers, `reconcile` from namespace.ts, one exhaustive executor. Not started by `flotilla up`:
 * it is the worked example of docs/architecture.md, and its spec runs it against a real store.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: rootCaPublisher, opts: { caCert: pem } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { ConfigMap, Namespace } from "../../bus/resources.ts";
import type { CaCommand, CaView } from "./namespace.ts";
import { match } from "ts-pattern";
import { Informer } from "../../runtime/informer.ts";
import { on, startController } from "../../runtime/controller.ts";
import { ROOT_CA_CONFIGMAP, reconcile } from "./namespace.ts";

export interface RootCaPublisherOptions {
  /** The cluster CA certificate (PEM). */
  caCert: string;
}

export async function startRootCaPublisher(ctx: ActorContext, opts: RootCaPublisherOptions): Promise<Actor> {
  const namespaces = new Informer<Namespace>(ctx.nc, ctx.cluster, { resource: "namespaces", log: ctx.log });
  const configMaps = new Informer<ConfigMap>(ctx.nc, ctx.cluster, {
    resource: "configmaps",
    filter: (c) => c.metadata.name === ROOT_CA_CONFIGMAP,
    log: ctx.log,
  });
  const ns = (o: Namespace | ConfigMap) => o.metadata.namespace ?? o.metadata.name;
  return startController<CaView, CaCommand>(ctx, {
    component: "root-ca-cert-publisher",
    informers: [namespaces, configMaps],
    watches: [
      on(namespaces, { add: ns, update: (_old, n) => ns(n) }),
      // Someone changed or removed ours: put it back.
      on(configMaps, { add: ns, update: (_old, c) => ns(c), delete: ns }),
    ],
    view: (key) => ({ namespace: namespaces.get(undefined, key), configMap: configMaps.get(key, ROOT_CA_CONFIGMAP), caCert: opts.caCert }),
    objectOf: (v) => v.namespace,
    reconcile,
    execute: (c) =>
      match(c)
        .with({ type: "configmap.create" }, async (c) => void (await ctx.store.create("configmaps", c.configMap.metadata.namespace, c.configMap)))
        .with({ type: "configmap.update" }, async (c) => void (await ctx.store.update("configmaps", c.configMap)))
        .exhaustive(),
  });
}

export const rootCaPublisher: ActorDefinition<RootCaPublisherOptions> = {
  kind: "root-ca-publisher",
  leaderElected: true,
  start: (ctx, opts) => startRootCaPublisher(ctx, opts),
};
