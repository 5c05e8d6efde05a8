/**
 * The PersistentVolume controller's decisions, pure (kube-controller-manager's
 * persistentvolume-binder): for a claim key, which volume it binds to, or why it waits; for a
 * volume key, its phase (Available, Bound, Released, Failed) and what its reclaim policy asks.
 *
 *   claim ──no class──▶ default class set (retroactive default StorageClass)
 *     │ volumeName set ──▶ volume bound to it? ──▶ status Bound (capacity, access modes)
 *     │ WaitForFirstConsumer and no selected node ──▶ waits (event WaitForFirstConsumer)
 *     │ an Available volume matches (class, modes, size, selector, selected node) ──▶ bind both sides
 *     │ the class has a provisioner ──▶ annotate volume.kubernetes.io/storage-provisioner, wait
 *     └ else ──▶ Pending (event FailedBinding)
 *
 *   volume ──no claimRef──▶ Available │ its claim exists ──▶ Bound │ gone ──▶ Released → Retain keeps it,
 *     Delete of a volume our local-path provisioner made is done by that node's provisioner, any other ──▶ Failed
 *
 * @example
 *   const d = reconcileClaim(view, Date.now());   // commands to execute in order
 */
import type { Decision } from "../../runtime/controller.ts";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass, NodeFacts, TermMatcher, VolumePhase as VP } from "../../bus/storage.ts";
import { Annotation, BindingMode, ClaimPhase, LOCAL_PATH_PROVISIONER, ReclaimPolicy, VolumePhase, bestVolumeFor, claimClass, defaultClass, volumeBoundTo } from "../../bus/storage.ts";

export interface ClaimView {
  claim: PersistentVolumeClaim | undefined;
  volumes: readonly PersistentVolume[];
  volume(name: string): PersistentVolume | undefined;
  classes: readonly StorageClass[];
  node(name: string): NodeFacts | undefined;
  matchesTerm: TermMatcher;
}

export interface VolumeView {
  volume: PersistentVolume | undefined;
  /** The claim the volume's claimRef names, as cached (absent: not known). */
  claim: PersistentVolumeClaim | undefined;
}

export type Event = { type: "Normal" | "Warning"; reason: string; message: string };

export type BinderCommand =
  | { type: "claim.set-class"; claim: PersistentVolumeClaim; className: string }
  | { type: "claim.annotate"; claim: PersistentVolumeClaim; annotations: Record<string, string> }
  | { type: "volume.bind"; volume: PersistentVolume; claim: PersistentVolumeClaim }
  /** spec.volumeName and the bind annotations, then the status (Bound) on the written claim. */
  | { type: "claim.bind"; claim: PersistentVolumeClaim; volume: PersistentVolume; status: NonNullable<PersistentVolumeClaim["status"]> }
  | { type: "claim.status"; claim: PersistentVolumeClaim; status: NonNullable<PersistentVolumeClaim["status"]> }
  | { type: "volume.phase"; volume: PersistentVolume; phase: VP; message?: string; reason?: string }
  /** Released: re-checked against the store before it is written (a claim the cache has not seen yet). */
  | { type: "volume.release"; volume: PersistentVolume }
  | { type: "claim.event"; claim: PersistentVolumeClaim; event: Event };

const NO_PROVISIONER = "kubernetes.io/no-provisioner";

function boundStatus(claim: PersistentVolumeClaim, v: PersistentVolume): NonNullable<PersistentVolumeClaim["status"]> {
  return { ...(claim.status ?? {}), phase: ClaimPhase.Bound, accessModes: v.spec.accessModes ?? [], capacity: { ...(v.spec.capacity?.storage !== undefined ? { storage: v.spec.capacity.storage } : {}) } };
}

function statusCommand(claim: PersistentVolumeClaim, status: NonNullable<PersistentVolumeClaim["status"]>): BinderCommand[] {
  return JSON.stringify(claim.status ?? {}) === JSON.stringify(status) ? [] : [{ type: "claim.status", claim, status }];
}

function pending(claim: PersistentVolumeClaim): BinderCommand[] {
  return claim.status?.phase === ClaimPhase.Pending ? [] : statusCommand(claim, { phase: ClaimPhase.Pending });
}

export function reconcileClaim(v: ClaimView): Decision<BinderCommand> {
  const claim = v.claim;
  if (!claim || claim.metadata.deletionTimestamp) return { commands: [] };
  const out: BinderCommand[] = [];
  if (claim.spec.storageClassName === undefined || claim.spec.storageClassName === null) {
    const def = defaultClass(v.classes);
    if (def && !claim.spec.volumeName) return { commands: [{ type: "claim.set-class", claim, className: def.metadata.name! }] };
  }
  if (claim.spec.volumeName) {
    const pv = v.volume(claim.spec.volumeName);
    if (!pv) {
      if (claim.status?.phase === ClaimPhase.Bound || claim.status?.phase === ClaimPhase.Lost) {
        return { commands: [...statusCommand(claim, { ...(claim.status ?? {}), phase: ClaimPhase.Lost }), { type: "claim.event", claim, event: { type: "Warning", reason: "ClaimLost", message: "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!" } }] };
      }
      return { commands: pending(claim) };
    }
    if (!pv.spec.claimRef) return { commands: [{ type: "volume.bind", volume: pv, claim }, ...statusCommand(claim, boundStatus(claim, pv))] };
    if (volumeBoundTo(pv, claim)) {
      if (!pv.spec.claimRef.uid) out.push({ type: "volume.bind", volume: pv, claim });
      if (claim.metadata.annotations?.[Annotation.bindCompleted] !== "yes") out.push({ type: "claim.bind", claim, volume: pv, status: boundStatus(claim, pv) });
      else out.push(...statusCommand(claim, boundStatus(claim, pv)));
      return { commands: out };
    }
    return { commands: [...pending(claim), { type: "claim.event", claim, event: { type: "Warning", reason: "FailedBinding", message: `volume "${pv.metadata.name}" already bound to a different claim.` } }] };
  }

  const cls = v.classes.find((c) => c.metadata.name === claimClass(claim));
  const selected = claim.metadata.annotations?.[Annotation.selectedNode];
  const waits = cls?.volumeBindingMode === BindingMode.WaitForFirstConsumer;
  if (waits && !selected) {
    return { commands: [...pending(claim), { type: "claim.event", claim, event: { type: "Normal", reason: "WaitForFirstConsumer", message: "waiting for first consumer to be created before binding" } }] };
  }
  const facts = selected ? v.node(selected) : undefined;
  const pv = bestVolumeFor(claim, v.volumes, waits && selected ? { facts: facts ?? { name: selected, labels: {} }, matchesTerm: v.matchesTerm } : undefined);
  if (pv) {
    return { commands: [{ type: "volume.bind", volume: pv, claim }, { type: "claim.bind", claim, volume: pv, status: boundStatus(claim, pv) }] };
  }
  if (cls && cls.provisioner && cls.provisioner !== NO_PROVISIONER) {
    if (claim.metadata.annotations?.[Annotation.storageProvisioner] !== cls.provisioner) {
      out.push({ type: "claim.annotate", claim, annotations: { [Annotation.storageProvisioner]: cls.provisioner, [Annotation.betaStorageProvisioner]: cls.provisioner } });
    }
    out.push(...pending(claim), {
      type: "claim.event",
      claim,
      event: { type: "Normal", reason: "ExternalProvisioning", message: `Waiting for a volume to be created either by the external provisioner '${cls.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.` },
    });
    return { commands: out };
  }
  const why = claimClass(claim) === "" ? "no persistent volumes available for this claim and no storage class is set" : cls ? `no volume plugin matched name: ${cls.provisioner}` : `storageclass.storage.k8s.io "${claimClass(claim)}" not found`;
  return { commands: [...pending(claim), { type: "claim.event", claim, event: { type: cls || claimClass(claim) === "" ? "Normal" : "Warning", reason: cls || claimClass(claim) === "" ? "FailedBinding" : "ProvisioningFailed", message: why } }] };
}

function phaseCommand(pv: PersistentVolume, phase: VP, message?: string, reason?: string): BinderCommand[] {
  const s = pv.status ?? {};
  if (s.phase === phase && (s.message ?? undefined) === message && (s.reason ?? undefined) === reason) return [];
  return [{ type: "volume.phase", volume: pv, phase, ...(message ? { message } : {}), ...(reason ? { reason } : {}) }];
}

export function reconcileVolume(v: VolumeView): Decision<BinderCommand> {
  const pv = v.volume;
  if (!pv || pv.metadata.deletionTimestamp) return { commands: [] };
  const ref = pv.spec.claimRef;
  if (!ref?.name) return { commands: phaseCommand(pv, VolumePhase.Available) };
  const claim = v.claim;
  if (!ref.uid) return { commands: phaseCommand(pv, VolumePhase.Available) }; // pre-bound: the claim's pass binds it
  if (claim && claim.metadata.uid === ref.uid) {
    if (claim.spec.volumeName === pv.metadata.name || !claim.spec.volumeName) return { commands: phaseCommand(pv, VolumePhase.Bound) };
  }
  // The claim is gone (or is another object of the same name now): released.
  if (pv.status?.phase !== VolumePhase.Released && pv.status?.phase !== VolumePhase.Failed) return { commands: [{ type: "volume.release", volume: pv }] };
  const policy = pv.spec.persistentVolumeReclaimPolicy ?? ReclaimPolicy.Retain;
  if (policy === ReclaimPolicy.Retain) return { commands: [] };
  if (policy === ReclaimPolicy.Delete && pv.metadata.annotations?.[Annotation.provisionedBy] === LOCAL_PATH_PROVISIONER) return { commands: [] }; // its node deletes it
  if (policy === ReclaimPolicy.Delete) return { commands: phaseCommand(pv, VolumePhase.Failed, `error getting deleter volume plugin for volume "${pv.metadata.name}": no deletable volume plugin matched`, "VolumeFailedDelete") };
  return { commands: phaseCommand(pv, VolumePhase.Failed, "Recycle is not supported: use Delete or Retain", "VolumeFailedRecycle") };
}
