/**
 * The store actor: serves the store protocol on `…store.<verb>` (queue group "store", so any number
 * of replicas share the load). Stateless — all truth is in JetStream KV — so it handles many
 * requests at once; correctness comes from CAS on the revision, not from a mailbox of one.
 */
import type { ActorDefinition } from "../../runtime/actor.ts";
import type { StoreRequest } from "../../bus/store-protocol.ts";
import type { KubeObject, Namespace } from "../../bus/resources.ts";
import type { CustomResourceDefinition } from "../../bus/crd.ts";
import type { ResourceQuota } from "./quota.ts";
import type { LimitRange } from "./limit-ranges.ts";
import type { IngressClass } from "../../bus/networking.ts";
import { match } from "ts-pattern";
import { ensureBuckets } from "../../bus/kv.ts";
import { startKvWriter } from "./kv-writer.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { serve } from "../../runtime/mailbox.ts";
import { decodeStoreRequest, refuseUnstorable } from "./decode.ts";
import { Store } from "./store.ts";
import { toScale } from "../../bus/scale.ts";
import { Informer } from "../../runtime/informer.ts";
import { checkFence } from "./fence.ts";
import { startRepairLoop } from "./repair-loop.ts";
import { followEncryptionConfig } from "./encryption-config.ts";
import { callerOf, refuseForNode, targetToCheck } from "./node-restriction.ts";
import { serveNodeSubjects } from "../../runtime/cluster/node-subjects.ts";

export interface StoreActorOptions {
  serviceCidr?: string;
  defaultTolerationSeconds?: number;
  /** Requests served at once (default 256). */
  concurrency?: number;
  /** Requests that may wait beyond those; more are answered TooManyRequests (default 4096). */
  maxQueued?: number;
  replicas?: number;
  /**
   * One writer per replicated bucket (kv-writer.ts). On nats-server 2.9.10 it keeps two
   * compare-and-swap writes of one key from both landing, and the copies of a stream from
   * shifting. Servers turn it on unless FLOTILLA_SINGLE_WRITER=0.
   */
  singleWriter?: boolean;
  /** Also serve each registered node's own subjects (servers of a cluster; leaf workers need them, runtime/cluster/node-subjects.ts). */
  perNodeSubjects?: boolean;
  /** How long Events are kept (default 1 h). */
  eventsMaxAgeMs?: number;
  /** How much storage Events may take; past it the oldest go first (default 128 MiB). */
  eventsMaxBytes?: number;
  /** Time between allocation repair passes (0 = no repair loop in this replica). */
  repairIntervalMs?: number;
  /** How long an allocation nothing holds must stay so before the repair frees it. */
  allocationLeakGraceMs?: number;
  /** Lease duration of the repair loop's leader election. */
  repairLeaseMs?: number;
  /**
   * An EncryptionConfiguration file (actors/store/encryption-config.ts): the resources it names
   * (Secrets) are stored encrypted, and it is followed while it changes. Absent: stored as JSON.
   */
  encryptionConfig?: string;
}

export const STORE_CONCURRENCY = 256;
export const STORE_MAX_QUEUED = 4096;

/**
 * Lease reads and writes skip the request queue: they are leader election and node heartbeats,
 * which Kubernetes' API Priority and Fairness serves at priority levels of their own. Queued
 * behind a burst of creates, a renewal would miss its deadline and every leader would step down
 * at once. Their number is bounded by the holders (one Lease per node and per elected actor).
 */
export function servedAtOnce(req: StoreRequest): boolean {
  return req.type !== "list" && "resource" in req && req.resource === "leases";
}
export const REPAIR_INTERVAL_MS = 60_000;
export const ALLOCATION_LEAK_GRACE_MS = 60_000;

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
    .with({ type: "bindAll" }, (r) => store.bindAll(r.bindings, r.scheduledEvents))
    .with({ type: "evict" }, (r) => store.evict(r.namespace, r.name, r.options))
    .exhaustive();
}

export const storeActor: ActorDefinition<StoreActorOptions> = {
  kind: "store",
  identity: () => ({ role: "store" }),
  async start(ctx, opts) {
    const buckets = await ensureBuckets(ctx.nc, ctx.cluster, { replicas: opts.replicas, eventsMaxAgeMs: opts.eventsMaxAgeMs, eventsMaxBytes: opts.eventsMaxBytes });
    const namespaces = new Informer<Namespace>(ctx.nc, ctx.cluster, { resource: "namespaces", log: ctx.log });
    const quotas = new Informer<ResourceQuota>(ctx.nc, ctx.cluster, { resource: "resourcequotas", log: ctx.log });
    const limitRanges = new Informer<LimitRange>(ctx.nc, ctx.cluster, { resource: "limitranges", log: ctx.log });
    const crds = new Informer<CustomResourceDefinition>(ctx.nc, ctx.cluster, { resource: "customresourcedefinitions", log: ctx.log });
    const encryption = opts.encryptionConfig ? followEncryptionConfig(opts.encryptionConfig, ctx.log) : undefined;
    const ingressClasses = new Informer<IngressClass>(ctx.nc, ctx.cluster, { resource: "ingressclasses", log: ctx.log });
    const writer = await startKvWriter({ nc: ctx.nc, cluster: ctx.cluster, buckets, log: ctx.log, forward: !!opts.singleWriter });
    const store = new Store(ctx.nc, buckets, { writer, namespaces, quotas, limitRanges, ingressClasses, serviceCidr: opts.serviceCidr, defaultTolerationSeconds: opts.defaultTolerationSeconds, ...(encryption ? { seal: encryption.seal } : {}) });
    const feedTypes = () => store.customTypes.feed(crds.list());
    crds.addHandlers({ add: feedTypes, update: feedTypes, delete: feedTypes });
    await store.bootstrap();
    await Promise.all([namespaces.start(), quotas.start(), limitRanges.start(), crds.start(), ingressClasses.start()]);
    feedTypes();
    const prefix = `${ctx.subjects.storeQueue()}.`;
    const nodePrefix = ctx.subjects.storeNodePrefix();
    // A node's requests arrive on its own subjects (only its NATS user may publish there): the
    // store knows the caller from the subject and lets it write only what is its own.
    const restrict = async (node: string, req: StoreRequest) => {
      const target = targetToCheck(req);
      const current = target ? await store.get(target.resource, target.namespace, target.name).catch(() => undefined) : undefined;
      const refused = refuseForNode(node, req, current);
      if (refused) throw refused;
    };
    const options = {
      queue: "store",
      concurrency: opts.concurrency ?? STORE_CONCURRENCY,
      maxQueued: opts.maxQueued ?? STORE_MAX_QUEUED,
      decode: (raw: unknown) => decodeStoreRequest(raw),
      exempt: servedAtOnce,
      handle: async (req: StoreRequest, m: { subject: string }) => {
        const caller = callerOf(m.subject, prefix, nodePrefix);
        if (!caller || caller.verb !== req.type) throw new FlotillaError(ErrorCode.Invalid, `message type ${req.type} sent to ${m.subject}`);
        refuseUnstorable(req);
        if (caller.node !== undefined) await restrict(caller.node, req);
        return checkFence(store, req).then(() => handleStoreRequest(store, req));
      },
    };
    const servers = [serve<StoreRequest, unknown>(ctx, ctx.subjects.storeAll(), options), serve<StoreRequest, unknown>(ctx, ctx.subjects.storeAsAnyNode(), options)];
    if (opts.perNodeSubjects) servers.push(await serveNodeSubjects(ctx.nc, ctx.cluster, (subject) => serve<StoreRequest, unknown>(ctx, subject, options)));
    const server = { stop: async () => void (await Promise.all(servers.map((x) => x.stop()))) };
    ctx.log.info("store serving", { subject: ctx.subjects.storeAll() });
    const intervalMs = opts.repairIntervalMs ?? REPAIR_INTERVAL_MS;
    const repair =
      intervalMs > 0
        ? startRepairLoop(
            { nc: ctx.nc, buckets, allocator: store.allocator, store: ctx.store, log: ctx.log, now: ctx.now },
            { intervalMs, leakGraceMs: opts.allocationLeakGraceMs ?? ALLOCATION_LEAK_GRACE_MS, leaseDurationMs: opts.repairLeaseMs, identity: ctx.id },
          )
        : undefined;
    return {
      stop: async () => {
        await repair?.stop();
        await server.stop();
        await writer.stop();
        namespaces.stop();
        quotas.stop();
        limitRanges.stop();
        crds.stop();
        encryption?.stop();
        ingressClasses.stop();
      },
    };
  },
};
