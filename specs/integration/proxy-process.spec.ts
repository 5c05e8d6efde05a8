/**
 * Proxy end to end on the process engine: a real kubelet runs three tiny Node HTTP servers as host
 * processes (each on its own loopback port, reported in `flotilla.io/ports`); the endpoints
 * controller and the proxy make them one Service.
 */
import { expect } from "chai";
import type { Endpoints, Pod, Service } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { endpointsController } from "../../actors/endpoints-controller/index.ts";
import { proxy } from "../../actors/proxy/index.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { hits } from "../harness/http.ts";

const SERVER = "require('http').createServer((q, s) => s.end(process.env.HOSTNAME)).listen(Number(process.env.PORT), '127.0.0.1')";


describe("proxy on the process engine (integration)", function () {
  this.timeout(60_000);
  let c: TestCluster;
  let svc: Service;

  before(async () => {
    c = await startTestCluster({});
    await c.startActors([
      { def: kubelet, opts: { nodeName: "pn1", engine: "process" } },
      { def: endpointsController },
      { def: proxy, opts: { nodeName: "pn1" } },
    ]);
    for (const name of ["hello-a", "hello-b", "hello-c"]) {
      await c.store.create("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: "hello" } },
        spec: {
          nodeName: "pn1",
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "web", image: "node", command: [process.execPath, "-e", SERVER], ports: [{ name: "http", containerPort: 8080 }], readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 1 } }],
        },
      } as Pod);
    }
    svc = await c.store.create<Service>("services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "hello" },
      spec: { type: "NodePort", selector: { app: "hello" }, ports: [{ port: 8080, targetPort: "http" }] },
    } as Service);
    await waitFor(async () => {
      const ep = await c.store.get<Endpoints>("endpoints", "default", "hello").catch(() => undefined);
      return (ep?.subsets ?? []).flatMap((s) => s.addresses ?? []).length === 3;
    }, { timeoutMs: 30_000, what: "3 ready process pods behind the service" });
  });
  after(async () => {
    for (const name of ["hello-a", "hello-b", "hello-c"]) await c?.store.delete("pods", "default", name, { gracePeriodSeconds: 0 }).catch(() => undefined);
    await c?.stop();
  });

  it("reaches all 3 process pods with 300 requests through the ClusterIP and the NodePort", async () => {
    for (const [host, port] of [[svc.spec.clusterIP!, 8080], ["127.0.0.1", svc.spec.ports![0]!.nodePort!]] as const) {
      const seen = await hits(host, port, 300, { batch: 30 });
      expect([...seen.keys()].sort(), `${host}:${port}`).to.deep.equal(["hello-a", "hello-b", "hello-c"]);
    }
  });

  it("points Endpoints at each pod's reachable host port", async () => {
    const ep = await c.store.get<Endpoints>("endpoints", "default", "hello");
    const pods = await Promise.all(["hello-a", "hello-b", "hello-c"].map((n) => c.store.get<Pod>("pods", "default", n)));
    const reported = pods.map((p) => Object.values(JSON.parse(p.metadata.annotations!["flotilla.io/ports"]!) as Record<string, number>)[0]).sort();
    expect(ep.subsets!.flatMap((s) => s.ports!.map((p) => p.port)).sort()).to.deep.equal(reported);
  });
});
