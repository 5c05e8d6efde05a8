/**
 * The PersistentVolume controller (leader-elected): binds PersistentVolumeClaims to
 * PersistentVolumes and keeps both phases (binder.ts decides; this file writes with CAS). When it
 * starts leading it creates the default StorageClass `local-path` (provisioner
 * `flotilla.io/local-path`, WaitForFirstConsumer, Delete) if no class of that name exists, as k3s
 * ships one.
 *
 * Keys: `claim:<ns>/<name>` and `volume:<name>`.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: pvController, opts: { defaultClass: true } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { KubeObject, Node } from "../../bus/resources.ts";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../bus/storage.ts";
import type { BinderCommand, ClaimView, VolumeView } from "./binder.ts";
import { match } from "ts-pattern";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { Annotation, BindingMode, LOCAL_PATH_CLASS, LOCAL_PATH_PROVISIONER, ReclaimPolicy, claimKeyOf } from "../../bus/storage.ts";
import { Informer, keyFor } from "../../runtime/informer.ts";
import { on, startController, tolerate, referenceTo } from "../../runtime/controller.ts";
import { matchesTerm } from "../scheduler/plugins/node-affinity.ts";
import { reconcileClaim, reconcileVolume } from "./binder.ts";

export interface PvControllerOptions {
  /** Create the default `local-path` StorageClass when it is missing (default true). */
  defaultClass?: boolean;
}

const CLAIM = "claim:";
const VOLUME = "volume:";

/** The StorageClass a fresh cluster has, like k3s' `local-path`. */
export function localPathClass(): StorageClass {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: LOCAL_PATH_CLASS, annotations: { [Annotation.defaultClass]: "true" } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: ReclaimPolicy.Delete,
    volumeBindingMode: BindingMode.WaitForFirstConsumer,
    allowVolumeExpansion: false,
  };
}

export async function startPvController(ctx: ActorContext, opts: PvControllerOptions = {}): Promise<Actor> {
  const log = ctx.log;
  if (opts.defaultClass !== false) {
    await tolerate(ctx.store.create("storageclasses", undefined, localPathClass()), ErrorCode.AlreadyExists);
  }
  const claims = new Informer<PersistentVolumeClaim>(ctx.nc, ctx.cluster, { resource: "persistentvolumeclaims", log });
  const volumes = new Informer<PersistentVolume>(ctx.nc, ctx.cluster, { resource: "persistentvolumes", log });
  const classes = new Informer<StorageClass>(ctx.nc, ctx.cluster, { resource: "storageclasses", log });
  const nodes = new Informer<Node>(ctx.nc, ctx.cluster, { resource: "nodes", log });

  const claimKey = (c: KubeObject) => CLAIM + keyFor(c);
  const volumeKey = (v: KubeObject) => VOLUME + v.metadata.name;
  const claimOfVolume = (v: PersistentVolume) => {
    const k = claimKeyOf(v);
    return k ? CLAIM + k : undefined;
  };
  /** Volumes that name this claim, and the one it names. */
  const volumesOfClaim = (c: PersistentVolumeClaim) => [
    ...(c.spec.volumeName ? [VOLUME + c.spec.volumeName] : []),
    ...volumes.list().filter((v) => claimKeyOf(v) === keyFor(c)).map(volumeKey),
  ];
  /** A volume appearing or freeing up may serve any pending claim. */
  const pendingClaims = () => claims.list().filter((c) => !c.spec.volumeName).map(claimKey);

  const claimView = (ns: string, name: string): ClaimView => ({
    claim: claims.get(ns, name),
    volumes: volumes.list(),
    volume: (n) => volumes.get(undefined, n),
    classes: classes.list(),
    node: (n) => {
      const node = nodes.get(undefined, n);
      return node ? { name: n, labels: node.metadata.labels ?? {} } : undefined;
    },
    matchesTerm,
  });
  const volumeView = (name: string): VolumeView => {
    const volume = volumes.get(undefined, name);
    const ref = volume?.spec.claimRef;
    return { volume, claim: ref?.name ? claims.get(ref.namespace ?? "", ref.name) : undefined };
  };
  type View = { claim: ClaimView } | { volume: VolumeView };

  const updateClaim = (c: PersistentVolumeClaim) => ctx.store.update<PersistentVolumeClaim>("persistentvolumeclaims", c);
  const execute = async (c: BinderCommand, events: { record: (ref: ReturnType<typeof referenceTo>, type: "Normal" | "Warning", reason: string, message: string) => void }) =>
    match(c)
      .with({ type: "claim.set-class" }, async ({ claim, className }) => {
        await updateClaim({ ...claim, spec: { ...claim.spec, storageClassName: className } });
      })
      .with({ type: "claim.annotate" }, async ({ claim, annotations }) => {
        await updateClaim({ ...claim, metadata: { ...claim.metadata, annotations: { ...(claim.metadata.annotations ?? {}), ...annotations } } });
      })
      .with({ type: "volume.bind" }, async ({ volume, claim }) => {
        const ref = volume.spec.claimRef;
        if (ref?.uid === claim.metadata.uid && ref?.name === claim.metadata.name) return;
        const bound: PersistentVolume = {
          ...volume,
          metadata: { ...volume.metadata, annotations: { ...(volume.metadata.annotations ?? {}), ...(ref ? {} : { [Annotation.boundByController]: "yes" }) } },
          spec: { ...volume.spec, claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, resourceVersion: claim.metadata.resourceVersion } },
        };
        const written = await ctx.store.update<PersistentVolume>("persistentvolumes", bound);
        await ctx.store.updateStatus("persistentvolumes", { ...written, status: { ...(written.status ?? {}), phase: "Bound", lastPhaseTransitionTime: new Date(ctx.now()).toISOString().replace(/\.\d+Z$/, "Z") } });
      })
      .with({ type: "claim.bind" }, async ({ claim, volume, status }) => {
        const annotations = { ...(claim.metadata.annotations ?? {}), [Annotation.bindCompleted]: "yes", ...(claim.spec.volumeName ? {} : { [Annotation.boundByController]: "yes" }) };
        const written = await updateClaim({ ...claim, metadata: { ...claim.metadata, annotations }, spec: { ...claim.spec, volumeName: volume.metadata.name } });
        await ctx.store.updateStatus("persistentvolumeclaims", { ...written, status });
      })
      .with({ type: "claim.status" }, async ({ claim, status }) => {
        await tolerate(ctx.store.updateStatus("persistentvolumeclaims", { ...claim, status }), ErrorCode.NotFound);
      })
      .with({ type: "volume.phase" }, async ({ volume, phase, message, reason }) => {
        const status = { phase, ...(message ? { message } : {}), ...(reason ? { reason } : {}), lastPhaseTransitionTime: new Date(ctx.now()).toISOString().replace(/\.\d+Z$/, "Z") };
        await tolerate(ctx.store.updateStatus("persistentvolumes", { ...volume, status }), ErrorCode.NotFound);
      })
      .with({ type: "volume.release" }, async ({ volume }) => {
        const ref = volume.spec.claimRef!;
        try {
          const cur = await ctx.store.get<PersistentVolumeClaim>("persistentvolumeclaims", ref.namespace, ref.name!);
          if (cur.metadata.uid === ref.uid) return; // the cache is behind: the claim is there
        } catch (e) {
          if (!isCode(e, ErrorCode.NotFound)) throw e;
        }
        const status = { phase: "Released" as const, lastPhaseTransitionTime: new Date(ctx.now()).toISOString().replace(/\.\d+Z$/, "Z") };
        await tolerate(ctx.store.updateStatus("persistentvolumes", { ...volume, status }), ErrorCode.NotFound);
      })
      .with({ type: "claim.event" }, async ({ claim, event }) => {
        events.record(referenceTo(claim), event.type, event.reason, event.message);
      })
      .exhaustive();

  return startController<View, BinderCommand>(ctx, {
    component: "persistentvolume-controller",
    informers: [claims, volumes, classes, nodes],
    watches: [
      on(claims, { add: (c) => [claimKey(c), ...volumesOfClaim(c)], update: (_o, c) => [claimKey(c), ...volumesOfClaim(c)], delete: (c) => volumesOfClaim(c) }),
      on(volumes, {
        add: (v) => [volumeKey(v), claimOfVolume(v), ...(v.spec.claimRef ? [] : pendingClaims())],
        update: (_o, v) => [volumeKey(v), claimOfVolume(v), ...(v.spec.claimRef ? [] : pendingClaims())],
        delete: (v) => [claimOfVolume(v)],
      }),
      on(classes, { add: () => pendingClaims(), update: () => pendingClaims() }),
    ],
    view(key) {
      if (key.startsWith(VOLUME)) return { volume: volumeView(key.slice(VOLUME.length)) };
      const [ns, name] = key.slice(CLAIM.length).split("/") as [string, string];
      return { claim: claimView(ns, name) };
    },
    objectOf: (v) => ("claim" in v ? v.claim.claim : v.volume.volume),
    reconcile: (_key, v) => ("claim" in v ? reconcileClaim(v.claim) : reconcileVolume(v.volume)),
    execute: (c, pass) => execute(c, pass.events),
  });
}

export const pvController: ActorDefinition<PvControllerOptions> = {
  kind: "pv-controller",
  leaderElected: true,
  start: (ctx, opts) => startPvController(ctx, opts ?? {}),
};
