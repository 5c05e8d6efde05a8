/** A StatefulSet world for the controller's unit specs: commands applied as the store, scheduler and kubelets would. */
import type { ControllerRevision, Pod, StatefulSet } from "../../../bus/resources.ts";
import type { StsCommand } from "../../../actors/statefulset-controller/statefulset.ts";
import type { LeaseSeen } from "../../../actors/statefulset-controller/fence.ts";
import type { PersistentVolumeClaim } from "../../../bus/storage.ts";
import { reconcileStatefulSet } from "../../../actors/statefulset-controller/statefulset.ts";

export const T0 = Date.parse("2026-03-01T12:00:00Z");
export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
export const of = <T extends StsCommand["type"]>(cs: readonly StsCommand[], type: T) => cs.filter((c): c is Extract<StsCommand, { type: T }> => c.type === type);

export function statefulSet(spec: Partial<StatefulSet["spec"]> = {}, image = "db:1"): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "default", uid: "sts-uid", generation: 1 },
    spec: {
      replicas: 3,
      serviceName: "db",
      selector: { matchLabels: { app: "db" } },
      template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "db", image }], restartPolicy: "Always" } },
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      ...spec,
    },
    status: { replicas: 0 },
  };
}

/** Applies commands as the store, scheduler and kubelets would: pods land on `n1` unless told, and turn Ready on `settle`. */
export class World {
  pods: Pod[] = [];
  revisions: ControllerRevision[] = [];
  claims: PersistentVolumeClaim[] = [];
  leases = new Map<string, LeaseSeen>();
  now = T0;
  events: string[] = [];
  created: string[] = [];
  deleted: string[] = [];
  node = "n1";
  private seq = 0;
  constructor(public set: StatefulSet) {}

  step(): StsCommand[] {
    const d = reconcileStatefulSet("default/db", { set: this.set, pods: this.pods, revisions: this.revisions, claims: this.claims, leases: this.leases, fenceMarginMs: 5000 }, this.now);
    this.apply(d.commands);
    return d.commands;
  }
  apply(commands: readonly StsCommand[]): void {
    for (const c of commands) {
      if (c.type === "revision.create") this.revisions.push({ ...structuredClone(c.revision), metadata: { ...c.revision.metadata, uid: `rev-${++this.seq}` } });
      else if (c.type === "revision.update") this.revisions = this.revisions.map((r) => (r.metadata.name === c.revision.metadata.name ? structuredClone(c.revision) : r));
      else if (c.type === "revision.delete") this.revisions = this.revisions.filter((r) => r.metadata.name !== c.name);
      else if (c.type === "claim.create") this.addClaim(c.claim);
      else if (c.type === "claim.update") this.claims = this.claims.map((x) => (x.metadata.name === c.claim.metadata.name ? structuredClone(c.claim) : x));
      else if (c.type === "pod.create") {
        for (const claim of c.claims) this.addClaim(claim);
        const p = structuredClone(c.pod);
        p.metadata.uid = `pod-${++this.seq}`;
        p.metadata.creationTimestamp = iso(this.now);
        p.spec.nodeName = this.node;
        p.status = { phase: "Pending" };
        this.pods.push(p);
        this.created.push(p.metadata.name!);
      } else if (c.type === "pod.delete") {
        this.deleted.push(c.name + (c.force ? "!" : ""));
        this.pods = this.pods.filter((p) => p.metadata.uid !== c.uid);
      } else if (c.type === "statefulset.status") this.set = { ...this.set, status: c.status };
      else if (c.type === "event.record") this.events.push(`${c.reason}: ${c.message}`);
    }
  }
  addClaim(claim: PersistentVolumeClaim): void {
    if (this.claims.some((x) => x.metadata.name === claim.metadata.name)) throw new Error(`claim ${claim.metadata.name} exists`);
    this.claims.push({ ...structuredClone(claim), metadata: { ...structuredClone(claim.metadata), uid: `pvc-${++this.seq}` } });
  }
  /** The garbage collector: claims whose owners are all gone go (the set counts while `setExists`). */
  collectGarbage(setExists = true): string[] {
    const alive = new Set([...this.pods.map((p) => p.metadata.uid!), ...(setExists ? [this.set.metadata.uid!] : [])]);
    const gone = this.claims.filter((c) => (c.metadata.ownerReferences ?? []).length > 0 && c.metadata.ownerReferences!.every((r) => !alive.has(r.uid)));
    this.claims = this.claims.filter((c) => !gone.includes(c));
    return gone.map((c) => c.metadata.name!);
  }
  /** Pending pods become Running and Ready; true when any did. */
  settle(): boolean {
    let changed = false;
    for (const p of this.pods) {
      if (p.status?.phase === "Running") continue;
      p.status = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: iso(this.now) }] };
      changed = true;
    }
    return changed;
  }
  /** Steps (settling pods in between) until a pass changes nothing. */
  converge(): void {
    for (let i = 0; i < 40; i++) {
      const cs = this.step().filter((c) => c.type !== "statefulset.status");
      const settled = this.settle();
      this.now += 1000;
      if (cs.length === 0 && !settled) return;
    }
    throw new Error("did not converge");
  }
  names(): string[] {
    return this.pods.map((p) => p.metadata.name!).sort();
  }
  image(name: string): string | undefined {
    return this.pods.find((p) => p.metadata.name === name)?.spec.containers[0]?.image;
  }
  update(image: string, spec: Partial<StatefulSet["spec"]> = {}): void {
    const template = statefulSet({}, image).spec.template;
    this.set = { ...this.set, metadata: { ...this.set.metadata, generation: (this.set.metadata.generation ?? 1) + 1 }, spec: { ...this.set.spec, ...spec, template } };
  }
}
