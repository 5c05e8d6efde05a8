/**
 * The StatefulSet controller (leader-elected, on runtime/controller.ts): informers on statefulsets,
 * pods, controllerrevisions, persistentvolumeclaims and the node Leases (kube-node-lease). Set, pod,
 * revision and claim events enqueue StatefulSet keys; Lease renewals are only noted (when this controller saw each one), so
 * the fence rule (fence.ts) can tell when a silent node has stopped its pods. `reconcileStatefulSet`
 * decides; this file executes through the store.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: statefulSetController, opts: { fenceMarginMs: 5000 } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { ControllerRevision, KubeObject, Lease, Pod, StatefulSet } from "../../bus/resources.ts";
import type { Executed } from "../../runtime/controller.ts";
import type { StsCommand, StsView } from "./statefulset.ts";
import type { LeaseSeen } from "./fence.ts";
import type { PersistentVolumeClaim } from "../../bus/storage.ts";
import { match } from "ts-pattern";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { on, referenceTo, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { createRevision } from "../workloads/revision-writes.ts";
import { reconcileStatefulSet } from "./statefulset.ts";
import { DEFAULT_FENCE_MARGIN_MS } from "./fence.ts";

export interface StatefulSetControllerOptions {
  concurrency?: number;
  /** Time after a silent node's lease runs out before its pods count as stopped (default 5 s). */
  fenceMarginMs?: number;
}

const AGAIN_MS = 100;
const NODE_LEASES = "kube-node-lease";

export async function startStatefulSetController(ctx: ActorContext, opts: StatefulSetControllerOptions = {}): Promise<Actor> {
  const informer = <T extends KubeObject>(resource: string, namespace?: string) =>
    new Informer<T>(ctx.nc, ctx.cluster, { resource, namespace, log: ctx.log.child({ informer: resource }) });
  const sets = informer<StatefulSet>("statefulsets");
  const pods = informer<Pod>("pods");
  const revisions = informer<ControllerRevision>("controllerrevisions");
  const leases = informer<Lease>("leases", NODE_LEASES);
  const claims = informer<PersistentVolumeClaim>("persistentvolumeclaims");
  /** Node → when this controller saw its Lease renewed (its own clock; its start for leases it found). */
  const seen = new Map<string, LeaseSeen>();
  const noteLease = (l: Lease, renewed: boolean) => {
    const node = l.metadata.name!;
    const prev = seen.get(node);
    seen.set(node, { seenAt: renewed || !prev ? ctx.now() : prev.seenAt, leaseDurationSeconds: l.spec.leaseDurationSeconds ?? 40 });
  };

  const ownerKey = (o: KubeObject): string | undefined => {
    const ref = controllerRef(o);
    return ref?.kind === "StatefulSet" ? `${o.metadata.namespace}/${ref.name}` : undefined;
  };
  const setsOf = (p: Pod): string[] => {
    const k = ownerKey(p);
    if (k) return [k];
    if (p.metadata.deletionTimestamp) return [];
    return sets.list(p.metadata.namespace).filter((s) => matchesSelector(s.spec.selector, p.metadata.labels)).map(keyFor);
  };
  /** A claim concerns the sets that own it, or whose templates name it (`<template>-<set>-<ordinal>`). */
  const setsOfClaim = (c: PersistentVolumeClaim): string[] => {
    const name = c.metadata.name ?? "";
    return sets
      .list(c.metadata.namespace)
      .filter((s) => c.metadata.ownerReferences?.some((r) => r.uid === s.metadata.uid) || s.spec.volumeClaimTemplates?.some((t) => name.startsWith(`${t.metadata.name}-${s.metadata.name}-`)))
      .map(keyFor);
  };

  return startController<StsView, StsCommand>(ctx, {
    component: "statefulset-controller",
    informers: [sets, pods, revisions, leases, claims],
    watches: [
      on(sets, { add: keyFor, update: (_o, s) => keyFor(s), delete: keyFor }),
      on(pods, { add: setsOf, update: (old: Pod, cur: Pod) => [ownerKey(old), ...setsOf(cur)], delete: ownerKey }),
      on(revisions, { add: ownerKey, update: (_o, r) => ownerKey(r), delete: ownerKey }),
      on(claims, { add: setsOfClaim, update: (_o, c) => setsOfClaim(c), delete: setsOfClaim }),
      on(leases, {
        add: (l) => void noteLease(l, false),
        update: (old, cur) => void noteLease(cur, old.spec.renewTime !== cur.spec.renewTime),
        delete: (l) => void seen.delete(l.metadata.name!),
      }),
    ],
    view: (key) => {
      const { namespace, name } = splitKey(key);
      return {
        set: sets.get(namespace, name),
        pods: pods.list(namespace),
        revisions: revisions.list(namespace),
        claims: claims.list(namespace),
        leases: new Map(seen),
        fenceMarginMs: opts.fenceMarginMs ?? DEFAULT_FENCE_MARGIN_MS,
      };
    },
    objectOf: (v) => v.set,
    reconcile: reconcileStatefulSet,
    execute: (c, { view, events }): Promise<Executed<StsView> | void> => {
      const set = view.set!;
      const ns = set.metadata.namespace!;
      const setName = set.metadata.name!;
      const createClaim = async (claim: PersistentVolumeClaim, pod?: string): Promise<void> => {
        try {
          await ctx.store.create("persistentvolumeclaims", ns, claim);
        } catch (e) {
          if (isCode(e, ErrorCode.AlreadyExists)) return;
          // Kubernetes' recordClaimEvent; the pod is not created, and its own FailedCreate follows.
          events.record(referenceTo(set), "Warning", "FailedCreate", `create Claim ${claim.metadata.name}${pod ? ` for Pod ${pod}` : ""} in StatefulSet ${setName} failed error: ${(e as Error).message}`);
          throw e;
        }
        const forPod = pod ? ` Pod ${pod}` : "";
        events.record(referenceTo(set), "Normal", "SuccessfulCreate", `create Claim ${claim.metadata.name}${forPod} in StatefulSet ${setName} success`);
      };
      return match(c)
        .with({ type: "revision.create" }, async (c): Promise<Executed<StsView> | void> => {
          const r = await createRevision(ctx.store, "statefulsets", set, c.revision);
          if (r.again) return { ...(r.owner ? { view: { ...view, set: r.owner } } : {}), requeueAfterMs: AGAIN_MS };
        })
        .with({ type: "revision.update" }, (c) => tolerate(ctx.store.update("controllerrevisions", c.revision), ErrorCode.NotFound))
        .with({ type: "revision.delete" }, (c) =>
          tolerate(ctx.store.delete("controllerrevisions", c.namespace, c.name, { preconditions: { uid: c.uid } }), ErrorCode.NotFound, ErrorCode.Conflict),
        )
        .with({ type: "pod.adopt" }, { type: "pod.release" }, (c) => tolerate(ctx.store.update("pods", c.pod), ErrorCode.NotFound))
        .with({ type: "claim.create" }, (c) => createClaim(c.claim))
        .with({ type: "claim.update" }, (c) => tolerate(ctx.store.update("persistentvolumeclaims", c.claim), ErrorCode.NotFound))
        .with({ type: "pod.create" }, async (c): Promise<Executed<StsView> | void> => {
          for (const claim of c.claims) await createClaim(claim, c.pod.metadata.name);
          try {
            await ctx.store.create("pods", ns, c.pod);
            events.record(referenceTo(set), "Normal", "SuccessfulCreate", `create Pod ${c.pod.metadata.name} in StatefulSet ${setName} successful`);
          } catch (e) {
            // The old pod of that name is still there (the cache was behind): look again soon.
            if (isCode(e, ErrorCode.AlreadyExists)) return { requeueAfterMs: AGAIN_MS };
            throw e;
          }
        })
        .with({ type: "pod.delete" }, async (c) => {
          try {
            await ctx.store.delete("pods", c.namespace, c.name, { preconditions: { uid: c.uid }, ...(c.force ? { gracePeriodSeconds: 0 } : {}) });
            events.record(referenceTo(set), "Normal", "SuccessfulDelete", `delete Pod ${c.name} in StatefulSet ${setName} successful`);
          } catch (e) {
            if (!isCode(e, ErrorCode.NotFound) && !isCode(e, ErrorCode.Conflict)) throw e;
          }
        })
        .with({ type: "event.record" }, async (c) => events.record(referenceTo(set), c.eventType, c.reason, c.message))
        .with({ type: "statefulset.status" }, async (c) => {
          try {
            return { view: { ...view, set: await ctx.store.updateStatus<StatefulSet>("statefulsets", { ...set, status: c.status }) } };
          } catch (e) {
            if (!isCode(e, ErrorCode.NotFound)) throw e;
          }
        })
        .exhaustive();
    },
    failed: (c, e) =>
      c.type === "pod.create" ? { reason: "FailedCreate", message: `create Pod ${c.pod.metadata.name} in StatefulSet ${c.pod.metadata.ownerReferences?.[0]?.name} failed error: ${e.message}` } : undefined,
    concurrency: opts.concurrency ?? 4,
  });
}

export const statefulSetController: ActorDefinition<StatefulSetControllerOptions> = {
  kind: "statefulset-controller",
  leaderElected: true,
  start: (ctx, opts) => startStatefulSetController(ctx, opts ?? {}),
};
export default statefulSetController;
