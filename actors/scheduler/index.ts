/**
 * The scheduler actor (wiring). Leader-elected: only the replica holding the Lease `scheduler`
 * runs it. Informers on nodes and pods feed the snapshot and the queue; the loop pops a pod, runs
 * the pure `schedule`, *assumes* the placement in the snapshot at once and binds asynchronously
 * with up to `bindConcurrency` binds in flight, sent in batches (binder.ts; each bind is a CAS: it fails with
 * Conflict if the pod was already bound or changed, so no pod is ever bound twice, even across a
 * leader hand-over). A failed bind forgets the assumption and requeues the pod with back-off.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: scheduler, opts: { percentageOfNodesToScore: 0 } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Node, Pod } from "../../bus/resources.ts";
import type { Popped } from "./queue.ts";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { Snapshot } from "./snapshot.ts";
import { SchedulingQueue } from "./queue.ts";
import { schedule, fitErrorMessage } from "./schedule.ts";
import { podInfo, DEFAULT_SCHEDULER } from "./pod-info.ts";
import { Reporter } from "./events.ts";
import { Binder } from "./binder.ts";
import { VolumeBinder } from "./volume-binder.ts";

export interface SchedulerOptions {
  /** Pods whose spec.schedulerName differs are left alone. */
  schedulerName?: string;
  /** 1..100; unset or 0 = Kubernetes' adaptive default. */
  percentageOfNodesToScore?: number;
  /** Binds in flight at once (default 256). */
  bindConcurrency?: number;
  /** Back-off for pods that failed (ms). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Work done between yields to the event loop (so bind replies and watch events get in). */
const SLICE_MS = 8;

/** What decides whether a node change may make pending pods fit. */
function schedulingShape(n: Node): string {
  return JSON.stringify([n.metadata.labels, n.spec, n.status?.allocatable ?? n.status?.capacity]);
}

function schedulingInput(p: Pod): string {
  return JSON.stringify([p.metadata.labels, p.metadata.deletionTimestamp, p.spec]);
}

class Scheduler implements Actor {
  private readonly snap = new Snapshot();
  private readonly queue: SchedulingQueue;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly events: Reporter;
  private readonly binder: Binder;
  private readonly volumes: VolumeBinder;
  private readonly name: string;
  private readonly bindConcurrency: number;
  private inflight = 0;
  private nextStart = 0;
  private stopped = false;
  private wakeUp?: () => void;
  private loop?: Promise<void>;
  bound = 0;

  constructor(
    private readonly ctx: ActorContext,
    private readonly opts: SchedulerOptions,
  ) {
    this.name = opts.schedulerName ?? DEFAULT_SCHEDULER;
    this.bindConcurrency = opts.bindConcurrency ?? 256;
    this.queue = new SchedulingQueue({ now: ctx.now, initialBackoffMs: opts.initialBackoffMs, maxBackoffMs: opts.maxBackoffMs });
    this.nodes = new Informer<Node>(ctx.nc, ctx.cluster, { resource: "nodes", log: ctx.log });
    this.pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: ctx.log });
    this.volumes = new VolumeBinder(ctx, () => {
      this.queue.moveAllToActiveOrBackoff();
      this.wake();
    });
    this.snap.storage = this.volumes.view;
    this.events = new Reporter({ store: ctx.store, component: this.name, instance: ctx.id, now: ctx.now, log: ctx.log });
    // The Scheduled Events travel with their binds (binder.ts); the store writes them.
    this.binder = new Binder(ctx.store, 128, { component: this.name, host: ctx.id });
  }

  async start(): Promise<void> {
    this.nodes.addHandlers({
      add: (n) => this.onNode(n),
      update: (old, n) => this.onNode(n, schedulingShape(old) !== schedulingShape(n)),
      delete: (n) => this.snap.removeNode(n.metadata.name!),
    });
    this.pods.addHandlers({
      add: (p) => this.onPod(p),
      // Status-only updates (our own PodScheduled condition, kubelet status) do not make a waiting pod schedulable.
      // Whether what scheduling reads changed is worked out only for a pod still waiting in the queue.
      update: (old, p) => this.onPod(p, () => schedulingInput(old) !== schedulingInput(p)),
      delete: (p) => this.onPodDeleted(p),
    });
    await this.nodes.start();
    await this.volumes.start();
    await this.pods.start();
    this.ctx.log.info("scheduler running", { schedulerName: this.name, nodes: this.snap.nodeList.length, pending: this.queue.length });
    this.loop = this.run().catch((e) => this.ctx.crash(e));
  }

  // ---------- cluster events ----------
  private onNode(n: Node, changed = true): void {
    this.snap.upsertNode(n);
    if (changed) {
      this.queue.moveAllToActiveOrBackoff();
      this.wake();
    }
  }

  private responsible(p: Pod): boolean {
    return (p.spec.schedulerName || DEFAULT_SCHEDULER) === this.name;
  }

  private onPod(p: Pod, changed: () => boolean = () => true): void {
    const key = keyFor(p);
    if (p.spec.nodeName || p.status?.phase === "Succeeded" || p.status?.phase === "Failed") {
      this.snap.upsertPod(podInfo(p));
      this.queue.delete(key);
      return;
    }
    if (!this.responsible(p)) return;
    if (p.metadata.deletionTimestamp) {
      this.queue.delete(key);
      return;
    }
    if (this.snap.isAssumed(key)) return; // its bind is in flight
    if (this.queue.has(key) && !changed()) return;
    const info = podInfo(p);
    this.queue.add({ key, priority: info.priority, creation: info.creation });
    this.wake();
  }

  private onPodDeleted(p: Pod): void {
    const key = keyFor(p);
    const wasPlaced = this.snap.placement(key) !== undefined;
    this.snap.removePod(key);
    this.queue.delete(key);
    if (wasPlaced) {
      this.queue.moveAllToActiveOrBackoff();
      this.wake();
    }
  }

  // ---------- the loop ----------
  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleep(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = ms === undefined ? undefined : setTimeout(() => this.wake(), ms);
      this.wakeUp = () => {
        if (t) clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let sliceStart = performance.now();
    while (!this.stopped) {
      if (this.inflight >= this.bindConcurrency) {
        await this.sleep(undefined);
        continue;
      }
      const item = this.queue.pop();
      if (!item) {
        await this.sleep(this.queue.nextWakeInMs());
        sliceStart = performance.now();
        continue;
      }
      this.scheduleOne(item);
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise<void>((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    }
  }

  private scheduleOne(item: Popped): void {
    const { namespace, name } = splitKey(item.key);
    const pod = this.pods.get(namespace, name);
    if (!pod || pod.spec.nodeName || pod.metadata.deletionTimestamp || !this.responsible(pod)) {
      this.queue.done(item.key);
      return;
    }
    const info = podInfo(pod);
    const total = this.snap.nodeList.length;
    const d = schedule(this.snap, info, {
      percentageOfNodesToScore: this.opts.percentageOfNodesToScore,
      startIndex: this.nextStart,
      random: Math.random,
      recordScores: false,
    });
    this.nextStart = total === 0 ? 0 : (this.nextStart + d.considered) % total;
    if ("reasons" in d) {
      this.queue.requeueUnschedulable(item);
      const message = fitErrorMessage(total, d.reasons);
      this.ctx.log.debug("unschedulable", { pod: item.key, message });
      this.events.failedScheduling(pod, message);
      return;
    }
    this.snap.assume(info, d.node);
    this.inflight++;
    // PreBind: unbound WaitForFirstConsumer claims get the node, and the pod waits for their binding.
    this.volumes
      .preBind(pod, d.node)
      .then(() => this.binder.bind({ namespace: info.namespace, name: info.name, node: d.node, uid: info.uid }))
      .then(
        () => {
          this.bound++;
          this.queue.done(item.key);
        },
        (e: unknown) => this.bindFailed(item, d.node, e),
      )
      .finally(() => {
        this.inflight--;
        if (this.inflight === this.bindConcurrency - 1) this.wake();
      });
  }

  private bindFailed(item: Popped, node: string, e: unknown): void {
    this.snap.forget(item.key);
    const code = e instanceof FlotillaError ? e.code : ErrorCode.Internal;
    const { namespace, name } = splitKey(item.key);
    const cur = this.pods.get(namespace, name);
    if (code === ErrorCode.NotFound || !cur || cur.spec.nodeName) {
      this.queue.done(item.key); // gone, or bound meanwhile (by us via a timed-out write, or by a former leader)
      return;
    }
    this.ctx.log.warn("bind failed, retrying", { pod: item.key, node, code, error: (e as Error).message });
    this.queue.requeueBackoff(item);
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    this.nodes.stop();
    this.pods.stop();
    this.volumes.stop();
    await this.loop;
    await this.events.stop();
  }
}

export const scheduler: ActorDefinition<SchedulerOptions> = {
  kind: "scheduler",
  leaderElected: true,
  async start(ctx, opts) {
    const s = new Scheduler(ctx, opts ?? {});
    await s.start();
    return s;
  },
};
export { scheduler as schedulerActor };
