/**
 * Publishes this node's static pods as mirror pods once the API (the store) can be reached, one
 * work-queue key per pod: `decideMirror` (pure) says create, delete (and create again) or nothing;
 * this file does it through the store. A mirror pod deleted through the API is finalized at once
 * (grace 0: the static pod's containers are not its to stop) and published again a second later.
 *
 * @example
 *   const mirrors = new MirrorPods({ store, node, statics, getStored: (ns, n) => informer.get(ns, n), log });
 *   informer.addHandlers({ add: (p) => mirrors.enqueue(key(p)), … });
 */
import type { Node, Pod } from "../../bus/resources.ts";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Logger } from "../../runtime/logger.ts";
import { match } from "ts-pattern";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { isCode, ErrorCode } from "../../bus/errors.ts";
import { decideMirror, mirrorPodOf } from "./static-pods.ts";

export interface MirrorPodsOptions {
  store: StoreClient;
  node: Pick<Node, "metadata">;
  /** This node's static pods. */
  getStatic(namespace: string, name: string): Pod | undefined;
  /** The pod the store holds under that name (the kubelet's informer). */
  getStored(namespace: string, name: string): Pod | undefined;
  log: Logger;
  now?: () => number;
}

/**
 * How long a deleted mirror pod stays gone before it is published again. Clients that deleted it
 * (`kubectl delete` waits for the deletion) watch from just before: a key rewritten at once would
 * show them only the new pod, as a resumed watch sees only a key's newest value (docs/kubelet.md).
 */
export const MIRROR_RECREATE_DELAY_MS = 1_000;

export class MirrorPods {
  readonly queue: WorkQueue;
  private readonly nameTaken = new Set<string>();
  private readonly deletedAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly o: MirrorPodsOptions) {
    this.queue = new WorkQueue((k) => this.sync(k), { concurrency: 4, baseDelayMs: 200, maxDelayMs: 10_000, log: o.log });
    this.now = o.now ?? Date.now;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  stop(): Promise<void> {
    return this.queue.shutdown();
  }

  private async sync(key: string): Promise<void> {
    const [ns, name] = key.split("/") as [string, string];
    const pod = this.o.getStatic(ns, name);
    const stored = this.o.getStored(ns, name);
    const action = decideMirror(pod, stored);
    await match(action)
      .with({ type: "none" }, () => {
        this.nameTaken.delete(key);
      })
      .with({ type: "nameTaken" }, () => {
        if (!this.nameTaken.has(key)) this.o.log.warn("a pod that is not a mirror pod holds a static pod's name: no mirror pod published", { pod: key });
        this.nameTaken.add(key);
      })
      .with({ type: "create" }, async () => {
        const wait = (this.deletedAt.get(key) ?? 0) + MIRROR_RECREATE_DELAY_MS - this.now();
        if (wait > 0) return this.queue.addAfter(key, wait);
        this.deletedAt.delete(key);
        await this.create(pod!);
      })
      .with({ type: "delete" }, async (a) => {
        try {
          await this.o.store.delete("pods", ns, name, { gracePeriodSeconds: 0, preconditions: { uid: a.uid } });
        } catch (e) {
          if (!isCode(e, ErrorCode.NotFound) && !isCode(e, ErrorCode.Conflict)) throw e;
        }
        if (a.recreate) {
          this.deletedAt.set(key, this.now());
          this.queue.addAfter(key, MIRROR_RECREATE_DELAY_MS);
        }
      })
      .exhaustive();
  }

  private async create(pod: Pod): Promise<void> {
    try {
      await this.o.store.create("pods", pod.metadata.namespace, mirrorPodOf(pod, this.o.node));
      this.o.log.info("mirror pod published", { pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
    } catch (e) {
      // The informer has not seen the old one go yet: look again shortly.
      if (isCode(e, ErrorCode.AlreadyExists)) this.queue.addAfter(`${pod.metadata.namespace}/${pod.metadata.name}`, 200);
      else throw e;
    }
  }
}
