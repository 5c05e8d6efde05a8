/**
 * The store actor: serves the store protocol on `…store.<verb>` (queue group "store", so any number
 * of replicas share the load). Stateless — all truth is in JetStream KV — so it handles many
 * requests at once; correctness comes from CAS on the revision, not from a mailbox of one.
 */
import type { ActorDefinition } from "../../runtime/actor.ts";
import type { StoreRequest } from "../../bus/store-protocol.ts";
import type { KubeObject, Namespace } from "../../bus/resources.ts";
import { match } from "ts-pattern";
import { ensureBuckets } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { serve } from "../../runtime/mailbox.ts";
import { decodeStoreRequest, refuseUnstorable } from "./decode.ts";
import { Store } from "./store.ts";
import { toScale } from "../../bus/scale.ts";
import { Informer } from "../../runtime/informer.ts";
import { checkFence } from "./fence.ts";

export interface StoreActorOptions {
  serviceCidr?: string;
  defaultTolerationSeconds?: number;
  concurrency?: number;
  replicas?: number;
}

export function handleStoreRequest(store: Store, req: StoreRequest): Promise<unknown> {
  return match(req)
    .with({ type: "get" }, (r) => store.get(r.resource, r.namespace, r.name))
    .with({ type: "list" }, (r) => store.list(r.resource, r.namespace, r))
    .with({ type: "create" }, (r) => store.create(r.resource, r.namespace, r.object as KubeObject, { dryRun: r.dryRun }))
    // The scale subresource answers a Scale, as its get and patch do.
    .with({ type: "update" }, async (r) => {
      const o = await store.update(r.resource, r.namespace, r.name, r.object, { dryRun: r.dryRun, subresource: r.subresource });
      return r.subresource === "scale" ? toScale(o) : o;
    })
    .with({ type: "status" }, (r) => store.updateStatus(r.resource, r.namespace, r.name, r.object))
    .with({ type: "patch" }, async (r) => {
      // Apply creates a missing object, but never through a subresource: there is nothing to scale.
      if (r.patchType === "apply" && r.subresource) await store.get(r.resource, r.namespace, r.name);
      return store.patch(r.resource, r.namespace, r.name, r.patchType, r.patch, { dryRun: r.dryRun, subresource: r.subresource, fieldManager: r.fieldManager, force: r.force });
    })
    .with({ type: "delete" }, (r) => store.delete(r.resource, r.namespace, r.name, r.options))
    .with({ type: "bind" }, (r) => store.bind(r.namespace, r.name, r.node, r.uid))
    .with({ type: "evict" }, (r) => store.evict(r.namespace, r.name, r.options))
    .exhaustive();
}

export const storeActor: ActorDefinition<StoreActorOptions> = {
  kind: "store",
  async start(ctx, opts) {
    const buckets = await ensureBuckets(ctx.nc, ctx.cluster, { replicas: opts.replicas });
    const namespaces = new Informer<Namespace>(ctx.nc, ctx.cluster, { resource: "namespaces", log: ctx.log });
    const store = new Store(ctx.nc, buckets, { namespaces, serviceCidr: opts.serviceCidr, defaultTolerationSeconds: opts.defaultTolerationSeconds });
    await store.bootstrap();
    await namespaces.start();
    const prefix = `${ctx.subjects.storeQueue()}.`;
    const server = serve<StoreRequest, unknown>(ctx, ctx.subjects.storeAll(), {
      queue: "store",
      concurrency: opts.concurrency ?? 256,
      decode: (raw) => decodeStoreRequest(raw),
      handle: (req, m) => {
        const verb = m.subject.slice(prefix.length);
        if (verb !== req.type) throw new FlotillaError(ErrorCode.Invalid, `message type ${req.type} sent to ${m.subject}`);
        refuseUnstorable(req);
        return checkFence(store, req).then(() => handleStoreRequest(store, req));
      },
    });
    ctx.log.info("store serving", { subject: ctx.subjects.storeAll() });
    return {
      stop: async () => {
        await server.stop();
        namespaces.stop();
      },
    };
  },
};
