/**
 * The local-path provisioner of one node (provision.ts decides). It runs next to the node's kubelet
 * (engines with a filesystem: docker, process, cri), because what it makes and removes are
 * directories on that node: `<dataDir>/storage/<cluster>/<node>/pvc-<uid>_<ns>_<name>`, mode 0777.
 * The PV controller binds the volume it creates; the kubelet mounts it.
 *
 * @example
 *   const p = await startLocalPathProvisioner(ctx, { node: "n1", root: "/var/lib/flotilla/storage/default/n1" });
 *   await p.stop();
 */
import type { ActorContext, Actor } from "../../runtime/actor.ts";
import type { KubeObject } from "../../bus/resources.ts";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../bus/storage.ts";
import type { ProvisionCommand } from "./provision.ts";
import { mkdirSync, chmodSync, rmSync } from "node:fs";
import { match } from "ts-pattern";
import { ErrorCode } from "../../bus/errors.ts";
import { LOCAL_PATH_PROVISIONER } from "../../bus/storage.ts";
import { Informer, keyFor } from "../../runtime/informer.ts";
import { on, startController, tolerate, referenceTo } from "../../runtime/controller.ts";
import { provisionClaim, reclaimVolume } from "./provision.ts";

export interface LocalPathOptions {
  node: string;
  root: string;
}

const CLAIM = "claim:";
const VOLUME = "volume:";

type View = { claim: PersistentVolumeClaim | undefined } | { volume: PersistentVolume | undefined };

export async function startLocalPathProvisioner(ctx: ActorContext, o: LocalPathOptions): Promise<Actor> {
  const log = ctx.log.child({ component: "local-path-provisioner" });
  const claims = new Informer<PersistentVolumeClaim>(ctx.nc, ctx.cluster, { resource: "persistentvolumeclaims", log });
  const volumes = new Informer<PersistentVolume>(ctx.nc, ctx.cluster, { resource: "persistentvolumes", log });
  const classes = new Informer<StorageClass>(ctx.nc, ctx.cluster, { resource: "storageclasses", log });
  const claimKey = (c: KubeObject) => CLAIM + keyFor(c);
  const volumeKey = (v: KubeObject) => VOLUME + v.metadata.name;
  const storage = () => ({ node: o.node, root: o.root, classes: classes.list(), volume: (n: string) => volumes.get(undefined, n) });

  return startController<View, ProvisionCommand>(ctx, {
    component: LOCAL_PATH_PROVISIONER,
    informers: [claims, volumes, classes],
    watches: [
      on(claims, { add: claimKey, update: (_o, c) => claimKey(c) }),
      on(volumes, { add: volumeKey, update: (_o, v) => volumeKey(v) }),
    ],
    view(key) {
      if (key.startsWith(VOLUME)) return { volume: volumes.get(undefined, key.slice(VOLUME.length)) };
      const [ns, name] = key.slice(CLAIM.length).split("/") as [string, string];
      return { claim: claims.get(ns, name) };
    },
    objectOf: (v) => ("claim" in v ? v.claim : v.volume),
    reconcile: (_key, v) => ({ commands: "claim" in v ? provisionClaim(v.claim, storage()) : reclaimVolume(v.volume, o) }),
    execute: (c, pass) =>
      match(c)
        .with({ type: "volume.provision" }, async ({ claim, volume, dir }) => {
          pass.events.record(referenceTo(claim), "Normal", "Provisioning", `External provisioner is provisioning volume for claim "${claim.metadata.namespace}/${claim.metadata.name}"`);
          mkdirSync(dir, { recursive: true, mode: 0o777 });
          chmodSync(dir, 0o777);
          await tolerate(ctx.store.create("persistentvolumes", undefined, volume), ErrorCode.AlreadyExists);
          log.info("provisioned", { claim: keyFor(claim), volume: volume.metadata.name, dir });
          pass.events.record(referenceTo(claim), "Normal", "ProvisioningSucceeded", `Successfully provisioned volume ${volume.metadata.name}`);
        })
        .with({ type: "volume.delete" }, async ({ volume, dir }) => {
          rmSync(dir, { recursive: true, force: true });
          await tolerate(ctx.store.delete("persistentvolumes", undefined, volume.metadata.name!, { preconditions: { uid: volume.metadata.uid } }), ErrorCode.NotFound, ErrorCode.Conflict);
          log.info("deleted released volume", { volume: volume.metadata.name, dir });
        })
        .exhaustive(),
  });
}
