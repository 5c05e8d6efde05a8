/**
 * The HorizontalPodAutoscaler drives a StatefulSet through its scale subresource, as it drives a
 * Deployment: simulated kubelets report each container using half its cpu request (50 %), so a
 * 20 % target scales `web` from 1 to maxReplicas 3 (web-1, web-2 created in order), and a 90 %
 * target brings it back to ceil(3 × 50 / 90) = 2 (web-2 removed). The HPA counts a pod that became
 * ready in its first five minutes only once a usage sample postdates its readiness by the sample's
 * window (Kubernetes' rule); before that, a scale-down sees web-0 alone and asks for 1. The
 * scale-down therefore waits for such a sample of every pod, as read from the same metrics feed.
 */
import { expect } from "chai";
import type { Pod, StatefulSet } from "../../bus/resources.ts";
import type { HorizontalPodAutoscaler } from "../../bus/hpa.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { scheduler } from "../../actors/scheduler/index.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { statefulSetController } from "../../actors/statefulset-controller/index.ts";
import { hpaController } from "../../actors/hpa-controller/index.ts";
import { startMetricsFeed } from "../../runtime/metrics-feed.ts";
import { createLogger } from "../../runtime/logger.ts";
import { subjects } from "../../bus/subjects.ts";

const NS = "default";

describe("HorizontalPodAutoscaler on a StatefulSet (integration, simulated kubelet)", function () {
  this.timeout(150_000);
  let c: TestCluster;
  const podNames = async () => (await c.store.list<Pod>("pods", NS, { labelSelector: "app=web" })).items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name!).sort();
  const replicas = async () => (await c.store.get<StatefulSet>("statefulsets", NS, "web")).spec.replicas;
  // A patch, as kubectl does: the controller's status writes in between are no conflict.
  const setTarget = async (utilization: number) =>
    c.store.patch("horizontalpodautoscalers", NS, "web", "merge", { spec: { metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: utilization } } }] } });

  before(async () => {
    c = await startTestCluster({ actors: [{ def: scheduler }, { def: statefulSetController }, { def: hpaController, opts: { syncPeriodMs: 500 } }] });
    await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
    await c.startActors([{ def: kubelet, opts: { nodeName: "hpa-sts-node", engine: "simulated", metricsIntervalMs: 500 } }]);
    const set: StatefulSet = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "web", namespace: NS },
      spec: {
        replicas: 1,
        serviceName: "web",
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "main", image: "web:1", resources: { requests: { cpu: "100m" } } }] } },
      },
    };
    await c.store.create("statefulsets", NS, set);
    await waitFor(async () => (await c.store.get<StatefulSet>("statefulsets", NS, "web")).status?.readyReplicas === 1, { what: "web-0 ready", timeoutMs: 30_000 });
  });
  after(async () => {
    await c?.stop();
  });

  it("scales the StatefulSet up to maxReplicas through its scale subresource, creating web-1 and web-2", async () => {
    const hpa: HorizontalPodAutoscaler = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web", namespace: NS },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: "web" },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 20 } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      },
    };
    await c.store.create("horizontalpodautoscalers", NS, hpa);
    await waitFor(async () => (await podNames()).join() === "web-0,web-1,web-2", { what: "web-0..web-2", timeoutMs: 60_000 });
    expect(await replicas()).to.equal(3);
    const status = await waitFor(async () => {
      const s = (await c.store.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", NS, "web")).status;
      return s?.currentReplicas === 3 ? s : undefined;
    }, { what: "the HPA to see 3 replicas" });
    expect(status.desiredReplicas).to.equal(3);
  });

  it("scales it back down to what a higher target needs, removing the highest ordinal", async () => {
    const feed = startMetricsFeed({ nc: c.nc, subjects: subjects(c.cluster), log: createLogger("spec") });
    try {
      await waitFor(async () => {
        const pods = (await c.store.list<Pod>("pods", NS, { labelSelector: "app=web" })).items;
        return (
          pods.length === 3 &&
          pods.every((p) => {
            const ready = p.status?.conditions?.find((x) => x.type === "Ready");
            const m = feed.pod(NS, p.metadata.name!);
            // lastTransitionTime has whole seconds: one more second covers the truncation.
            return ready?.status === "True" && m !== undefined && Date.parse(m.timestamp) >= Date.parse(ready.lastTransitionTime!) + (m.windowSeconds + 1) * 1000;
          })
        );
      }, { what: "a usage sample of every pod taken after it became ready", timeoutMs: 30_000 });
    } finally {
      feed.stop();
    }
    await setTarget(90);
    // Until every pod's usage is reported, a missing one counts as 100 % of its request (Kubernetes' rule for a scale-down).
    await waitFor(async () => (await replicas()) === 2, { what: "2 replicas", timeoutMs: 100_000 });
    await waitFor(async () => (await podNames()).join() === "web-0,web-1", { what: "web-2 removed", timeoutMs: 30_000 });
  });
});
