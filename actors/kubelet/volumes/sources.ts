/**
 * Follows the ConfigMaps and Secrets that pods on this node mount: for each one referenced, a
 * subscription to its write feed (`…events.<configmaps|secrets>.<ns>.<name>`, the store's
 * republish of every write), and a write re-syncs the pods that mount it, which rewrites their
 * volumes (Kubernetes' kubelet watches exactly the objects its pods reference, too).
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Pod } from "../../../bus/resources.ts";
import type { Subjects } from "../../../bus/subjects.ts";
import { volumeRefs } from "./payload.ts";

export class VolumeSources {
  private readonly subs = new Map<string, { sub: Subscription; pods: Set<string> }>();
  private readonly byPod = new Map<string, Set<string>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly resync: (podKey: string) => void,
  ) {}

  /** Records what the pod (absent: gone) reads; subscribes and unsubscribes as needed. */
  track(podKey: string, pod: Pod | undefined): void {
    const want = new Set<string>();
    if (pod) {
      const ns = pod.metadata.namespace ?? "default";
      for (const v of pod.spec.volumes ?? []) {
        const r = volumeRefs(v);
        for (const n of r.configMaps) want.add(this.subjects.events("configmaps", ns, n));
        for (const n of r.secrets) want.add(this.subjects.events("secrets", ns, n));
      }
    }
    const had = this.byPod.get(podKey) ?? new Set<string>();
    for (const s of want) {
      if (had.has(s)) continue;
      let e = this.subs.get(s);
      if (!e) {
        const pods = new Set<string>();
        const sub = this.nc.subscribe(s, { callback: () => pods.forEach((k) => this.resync(k)) });
        e = { sub, pods };
        this.subs.set(s, e);
      }
      e.pods.add(podKey);
    }
    for (const s of had) {
      if (want.has(s)) continue;
      const e = this.subs.get(s);
      if (!e) continue;
      e.pods.delete(podKey);
      if (e.pods.size === 0) {
        e.sub.unsubscribe();
        this.subs.delete(s);
      }
    }
    if (want.size) this.byPod.set(podKey, want);
    else this.byPod.delete(podKey);
  }

  stop(): void {
    for (const e of this.subs.values()) e.sub.unsubscribe();
    this.subs.clear();
    this.byPod.clear();
  }
}
