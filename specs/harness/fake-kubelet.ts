/**
 * A tiny stand-in for kubelets in controller specs: binds unscheduled pods to a node name, marks
 * them Running and Ready after `readyDelayMs`, and finishes graceful deletions at once. It writes
 * only through the store protocol, like a real kubelet. Use the real simulated kubelet where the
 * spec is about nodes; this one is for specs about controllers.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pod } from "../../bus/resources.ts";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";

export interface FakeKubelet {
  stop(): Promise<void>;
  /** Stop making new pods ready (existing ones stay as they are). */
  pause(paused: boolean): void;
}

export async function startFakeKubelet(nc: NatsConnection, cluster: string, o: { node?: string; readyDelayMs?: number } = {}): Promise<FakeKubelet> {
  const node = o.node ?? "fake-node";
  const delay = o.readyDelayMs ?? 0;
  const store = new StoreClient(nc, cluster);
  const pods = new Informer<Pod>(nc, cluster, { resource: "pods" });
  const firstSeen = new Map<string, number>();
  let paused = false;
  const queue = new WorkQueue(
    async (key) => {
      const { namespace, name } = splitKey(key);
      const p = pods.get(namespace, name);
      if (!p) return;
      try {
        if (p.metadata.deletionTimestamp) {
          await store.delete("pods", namespace, name, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid! } });
          return;
        }
        if (!p.spec.nodeName) {
          await store.bind(namespace!, name, node, p.metadata.uid);
          return;
        }
        if (p.status?.phase === "Running" || p.status?.phase === "Succeeded" || p.status?.phase === "Failed" || paused) return;
        const seen = firstSeen.get(p.metadata.uid!) ?? Date.now();
        firstSeen.set(p.metadata.uid!, seen);
        const left = seen + delay - Date.now();
        if (left > 0) {
          queue.addAfter(key, left);
          return;
        }
        const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
        const conditions = [
          ...(p.status?.conditions ?? []).filter((c) => c.type !== "Ready" && c.type !== "ContainersReady"),
          { type: "ContainersReady", status: "True" as const, lastTransitionTime: now },
          { type: "Ready", status: "True" as const, lastTransitionTime: now },
        ];
        await store.updateStatus("pods", { ...p, status: { ...p.status, phase: "Running", podIP: "10.0.0.1", startTime: now, conditions } });
      } catch (e) {
        if (isCode(e, ErrorCode.NotFound)) return;
        throw e;
      }
    },
    { concurrency: 8, baseDelayMs: 20, maxDelayMs: 500 },
  );
  pods.addHandlers({ add: (p) => queue.add(keyFor(p)), update: (_o, p) => queue.add(keyFor(p)) });
  await pods.start();
  return {
    pause(v) {
      paused = v;
      if (!v) for (const p of pods.list()) queue.add(keyFor(p));
    },
    async stop() {
      pods.stop();
      await queue.shutdown();
    },
  };
}

/** Ready pods (Ready=True, not being deleted) in a list. */
export function readyPods(pods: readonly Pod[]): Pod[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
}
