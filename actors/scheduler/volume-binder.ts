/**
 * The scheduler's storage side: informers on PersistentVolumeClaims, PersistentVolumes and
 * StorageClasses (the VolumeBinding filter reads them through `view`), and PreBind: before a pod
 * with unbound WaitForFirstConsumer claims is bound to its node, each such claim gets the
 * annotation `volume.kubernetes.io/selected-node: <node>` (the PV controller then binds it to a
 * matching volume of that node, or the node's local-path provisioner makes one), and the bind waits
 * until every claim is bound (up to `bindTimeoutMs`; Kubernetes waits up to 600 s).
 */
import type { ActorContext } from "../../runtime/actor.ts";
import type { Pod } from "../../bus/resources.ts";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../bus/storage.ts";
import type { StorageView } from "./types.ts";
import { Informer } from "../../runtime/informer.ts";
import { ErrorCode, FlotillaError, isCode } from "../../bus/errors.ts";
import { Annotation } from "../../bus/storage.ts";

const DEFAULT_BIND_TIMEOUT_MS = 120_000;

export class VolumeBinder {
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;
  private readonly waiters = new Set<() => void>();
  private stopped = false;
  readonly view: StorageView;

  constructor(
    private readonly ctx: ActorContext,
    /** Storage changed: pods waiting for it may fit now. */
    changed: () => void,
    private readonly bindTimeoutMs = DEFAULT_BIND_TIMEOUT_MS,
  ) {
    const log = ctx.log;
    this.claims = new Informer<PersistentVolumeClaim>(ctx.nc, ctx.cluster, { resource: "persistentvolumeclaims", log });
    this.volumes = new Informer<PersistentVolume>(ctx.nc, ctx.cluster, { resource: "persistentvolumes", log });
    this.classes = new Informer<StorageClass>(ctx.nc, ctx.cluster, { resource: "storageclasses", log });
    const notify = () => {
      for (const w of [...this.waiters]) w();
      changed();
    };
    const handlers = { add: notify, update: notify, delete: notify };
    this.claims.addHandlers(handlers);
    this.volumes.addHandlers(handlers);
    this.classes.addHandlers(handlers);
    this.view = {
      claim: (ns, name) => this.claims.get(ns, name),
      volume: (name) => this.volumes.get(undefined, name),
      volumes: () => this.volumes.list(),
      storageClass: (name) => this.classes.get(undefined, name),
    };
  }

  async start(): Promise<void> {
    await Promise.all([this.claims.start(), this.volumes.start(), this.classes.start()]);
  }

  stop(): void {
    this.stopped = true;
    for (const inf of [this.claims, this.volumes, this.classes]) inf.stop();
    for (const w of [...this.waiters]) w();
  }

  /** Names the node on the pod's unbound claims, then waits for them to be bound. */
  async preBind(pod: Pod, node: string): Promise<void> {
    const ns = pod.metadata.namespace ?? "default";
    const names = (pod.spec.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []));
    const unbound = names.filter((n) => !this.claims.get(ns, n)?.spec.volumeName);
    if (unbound.length === 0) return;
    for (const n of unbound) await this.selectNode(ns, n, node);
    const deadline = this.ctx.now() + this.bindTimeoutMs;
    while (!unbound.every((n) => this.claims.get(ns, n)?.spec.volumeName)) {
      if (this.stopped) throw new FlotillaError(ErrorCode.Unavailable, "scheduler stopping");
      if (this.ctx.now() > deadline) throw new FlotillaError(ErrorCode.Timeout, `binding volumes: timed out waiting for the condition (claims ${unbound.join(", ")})`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, 1000);
        this.waiters.add(done);
      });
    }
  }

  private async selectNode(ns: string, name: string, node: string): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const c = await this.ctx.store.get<PersistentVolumeClaim>("persistentvolumeclaims", ns, name);
      if (c.spec.volumeName || c.metadata.annotations?.[Annotation.selectedNode] === node) return;
      try {
        await this.ctx.store.update("persistentvolumeclaims", { ...c, metadata: { ...c.metadata, annotations: { ...(c.metadata.annotations ?? {}), [Annotation.selectedNode]: node } } });
        return;
      } catch (e) {
        if (!isCode(e, ErrorCode.Conflict)) throw e;
      }
    }
    throw new FlotillaError(ErrorCode.Conflict, `persistentvolumeclaim "${ns}/${name}": too many conflicts naming the selected node`);
  }
}
