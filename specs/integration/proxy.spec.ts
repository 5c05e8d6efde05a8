/**
 * Proxy + endpoints controller against a real nats-server and store: pods are tiny Node HTTP
 * servers on loopback ports (as the process engine runs them), reported through the pod's
 * `flotilla.io/ports` annotation and Ready condition.
 */
import { expect } from "chai";
import http from "node:http";
import { connect as tcpConnect } from "node:net";
import type { Endpoints, Pod, Service } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { endpointsController } from "../../actors/endpoints-controller/index.ts";
import { proxy } from "../../actors/proxy/index.ts";
import { POD_PORTS_ANNOTATION } from "../../bus/service-links.ts";
import { hits } from "../harness/http.ts";

interface Backend {
  name: string;
  server: http.Server;
  port: number;
}

async function startBackend(name: string): Promise<Backend> {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { name, server, port: (server.address() as { port: number }).port };
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

describe("proxy (integration, process-style pods)", function () {
  this.timeout(30_000);
  let c: TestCluster;
  const backends: Backend[] = [];
  let svc: Service;

  async function setReady(b: Backend, ready: boolean): Promise<void> {
    const pod = await c.store.get<Pod>("pods", "default", b.name);
    const conditions = [{ type: "Ready", status: ready ? ("True" as const) : ("False" as const) }];
    await c.store.updateStatus("pods", { ...pod, status: { ...pod.status, phase: "Running", podIP: "127.0.0.1", conditions } });
  }

  before(async () => {
    c = await startTestCluster({ actors: [{ def: endpointsController }, { def: proxy, opts: { nodeName: "n1" } }] });
    for (const name of ["web-a", "web-b", "web-c"]) {
      const b = await startBackend(name);
      backends.push(b);
      await c.store.create("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: "web" }, annotations: { [POD_PORTS_ANNOTATION]: JSON.stringify({ "8080": b.port }) } },
        spec: { nodeName: "n1", containers: [{ name: "web", image: "node", ports: [{ name: "http", containerPort: 8080 }] }] },
      } as Pod);
      await setReady(b, true);
    }
    svc = await c.store.create<Service>("services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { type: "NodePort", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    } as Service);
    await waitFor(async () => {
      const ep = await c.store.get<Endpoints>("endpoints", "default", "web").catch(() => undefined);
      return (ep?.subsets ?? []).flatMap((x) => x.addresses ?? []).length === 3;
    }, { what: "3 ready endpoints" });
  });
  after(async () => {
    await c?.stop();
    for (const b of backends) b.server.close();
  });

  it("gives the service a loopback ClusterIP and a NodePort", () => {
    expect(svc.spec.clusterIP).to.match(/^127\./);
    expect(svc.spec.ports![0]!.nodePort).to.be.within(30000, 32767);
  });

  it("resolves the named target port to each pod's reachable host port in Endpoints", async () => {
    const ep = await c.store.get<Endpoints>("endpoints", "default", "web");
    const ports = ep.subsets!.flatMap((s) => s.ports!.map((p) => p.port)).sort();
    expect(ports).to.deep.equal(backends.map((b) => b.port).sort());
    expect(ep.subsets![0]!.addresses![0]!.targetRef!.kind).to.equal("Pod");
  });

  it("spreads 300 requests through the ClusterIP over all 3 pods", async () => {
    const h = await waitFor(async () => {
      const m = await hits(svc.spec.clusterIP!, 80, 300).catch(() => undefined);
      return m && m.size === 3 ? m : undefined;
    }, { what: "traffic on all 3 pods through the ClusterIP" });
    expect([...h.keys()].sort()).to.deep.equal(["web-a", "web-b", "web-c"]);
    for (const n of h.values()) expect(n).to.be.within(80, 120);
  });

  it("spreads 300 requests through the NodePort over all 3 pods", async () => {
    const h = await hits("127.0.0.1", svc.spec.ports![0]!.nodePort!, 300);
    expect([...h.keys()].sort()).to.deep.equal(["web-a", "web-b", "web-c"]);
  });

  it("sends no traffic to a pod made not-ready within 2 s", async () => {
    const t0 = Date.now();
    await setReady(backends[1]!, false);
    await waitFor(async () => !(await hits(svc.spec.clusterIP!, 80, 30)).has("web-b"), { timeoutMs: 2000, intervalMs: 10, what: "web-b out of rotation" });
    expect(Date.now() - t0).to.be.below(2000);
    const h = await hits(svc.spec.clusterIP!, 80, 60);
    expect(h.has("web-b")).to.equal(false);
    await setReady(backends[1]!, true);
    await waitFor(async () => (await hits(svc.spec.clusterIP!, 80, 30)).has("web-b"), { what: "web-b back in rotation" });
  });

  it("keeps a client on one pod with sessionAffinity ClientIP", async () => {
    const cur = await c.store.get<Service>("services", "default", "web");
    await c.store.update("services", { ...cur, spec: { ...cur.spec, sessionAffinity: "ClientIP" } });
    await waitFor(async () => (await hits(svc.spec.clusterIP!, 80, 20, { localAddress: "127.0.0.7" })).size === 1, { what: "sticky sessions" });
    const h = await hits(svc.spec.clusterIP!, 80, 60, { localAddress: "127.0.0.7" });
    expect(h.size).to.equal(1);
    const others = await hits(svc.spec.clusterIP!, 80, 20, { localAddress: "127.0.0.8" });
    expect(others.size).to.equal(1);
    const back = await c.store.get<Service>("services", "default", "web");
    await c.store.update("services", { ...back, spec: { ...back.spec, sessionAffinity: "None", sessionAffinityConfig: undefined } });
    await waitFor(async () => (await hits(svc.spec.clusterIP!, 80, 30, { localAddress: "127.0.0.7" })).size === 3, { what: "round-robin again" });
  });

  it("keeps other connections alive when one backend goes away", async () => {
    // Long-lived raw connections through the proxy, one per backend.
    const socks = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<import("node:net").Socket>((resolve, reject) => {
            const s = tcpConnect({ host: svc.spec.clusterIP!, port: 80 }, () => resolve(s));
            s.on("error", reject);
          }),
      ),
    );
    const ask = (s: import("node:net").Socket) =>
      new Promise<string>((resolve, reject) => {
        if (s.destroyed) return reject(new Error("closed"));
        s.once("data", (d) => resolve(d.toString().split("\r\n\r\n")[1] ?? ""));
        s.once("close", () => reject(new Error("closed")));
        s.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
      });
    const names = await Promise.all(socks.map(ask));
    expect(new Set(names).size).to.equal(3);
    const victim = backends.find((b) => b.name === names[0])!;
    victim.server.closeAllConnections();
    await waitFor(() => socks[0]!.destroyed || socks[0]!.readableEnded, { what: "the victim's connection ends" });
    const again = await Promise.all(socks.slice(1).map(ask));
    expect(again).to.deep.equal(names.slice(1));
    for (const s of socks) s.destroy();
  });

  it("closes the service's ports when the service is deleted", async () => {
    await c.store.delete("services", "default", "web");
    await waitFor(() => refused(svc.spec.clusterIP!, 80), { what: "ClusterIP port closed" });
    await waitFor(() => refused("127.0.0.1", svc.spec.ports![0]!.nodePort!), { what: "NodePort closed" });
    await waitFor(async () => !(await c.store.get("endpoints", "default", "web").catch(() => undefined)), { what: "Endpoints removed" });
  });
});
