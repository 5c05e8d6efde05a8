/**
 * The endpoints controller taking over (a new leader) in a cluster whose Endpoints are already
 * right: its pod cache fills more slowly than its service cache (many pods), and it must not write
 * Endpoints from the half-filled cache — a proxy would drop every backend for a moment.
 */
import { expect } from "chai";
import type { Endpoints, Pod, Service } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { endpointsController } from "../../actors/endpoints-controller/index.ts";
import { computeSubsets } from "../../actors/endpoints-controller/endpoints.ts";
import { Informer } from "../../runtime/informer.ts";

const FILLER_PODS = 2000;
/** Each filler pod carries this much, so that the snapshot of all pods takes a while to read. */
const BALLAST = "x".repeat(4096);

describe("endpoints controller (integration)", function () {
  this.timeout(120_000);
  let c: TestCluster;
  let watch: Informer<Endpoints> | undefined;
  before(async () => {
    c = await startTestCluster();
  });
  after(async () => {
    watch?.stop();
    await c?.stop();
  });

  const readyPod = async (name: string, ip: string): Promise<Pod> => {
    const p = await c.store.create<Pod>("pods", "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { app: "web" } },
      spec: { nodeName: "n1", containers: [{ name: "web", image: "busybox", ports: [{ name: "http", containerPort: 8080 }] }] },
    } as Pod);
    return c.store.updateStatus<Pod>("pods", { ...p, status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: "True" }] } });
  };
  const addresses = (e: Endpoints | undefined) => (e?.subsets ?? []).flatMap((s) => s.addresses ?? []).length;

  it("a new leader never writes Endpoints from a half-filled pod cache", async () => {
    const svc = await c.store.create<Service>("services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    } as Service);
    const pods = [await readyPod("web-a", "10.0.0.1"), await readyPod("web-b", "10.0.0.2"), await readyPod("web-c", "10.0.0.3")];
    // What the previous leader wrote.
    await c.store.create("endpoints", "default", { apiVersion: "v1", kind: "Endpoints", metadata: { name: "web" }, subsets: computeSubsets(svc, pods) } as Endpoints);
    // Pods of other services: the new leader's pod cache takes a while to fill.
    await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "others" } });
    for (let i = 0; i < FILLER_PODS; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          c.store.create("pods", "others", { apiVersion: "v1", kind: "Pod", metadata: { name: `other-${i + j}`, labels: { app: "other" }, annotations: { ballast: BALLAST } }, spec: { containers: [{ name: "c", image: "busybox" }] } } as Pod),
        ),
      );
    }

    // Every version of the Endpoints a client sees from here on.
    const seen: number[] = [];
    watch = new Informer<Endpoints>(c.nc, c.cluster, { resource: "endpoints", namespace: "default" });
    watch.addHandlers({ update: (_o, e) => void seen.push(addresses(e)), delete: () => void seen.push(0) });
    await watch.start();

    await c.startActors([{ def: endpointsController }]);
    await readyPod("web-d", "10.0.0.4");
    await waitFor(() => addresses(watch!.get("default", "web")) === 4, { timeoutMs: 30_000, what: "the fourth address in the Endpoints" });
    expect(seen.filter((n) => n < 3), `addresses in each written version: ${seen.join(", ")}`).to.deep.equal([]);
  });
});
