/**
 * The proxy on the Docker engine: a web Deployment of 3 busybox httpd replicas behind a NodePort
 * Service, scheduled, run and made ready by the real actors; requests through the ClusterIP and the
 * NodePort reach every pod, and a pod made not-ready stops receiving traffic within 2 s.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import type { Deployment, Endpoints, Pod, Service } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { ensureBusyboxImage } from "../harness/images.ts";
import { requireDocker } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";
import { ACTORS } from "../../actors/registry.ts";
import { hits } from "../harness/http.ts";


const WEB = "mkdir -p /www && hostname > /www/index.html && touch /tmp/ready && httpd -f -p 8080 -h /www";

describe("proxy on the docker engine (integration)", function () {
  this.timeout(120_000);
  let c: TestCluster | undefined;
  let svc: Service;
  const cluster = runCluster("pd");

  before(async function () {
    await requireDocker(this);
    await ensureBusyboxImage();
    c = await startTestCluster({ cluster });
    await c.startActors([
      { def: ACTORS.scheduler! },
      { def: ACTORS["deployment-controller"]! },
      { def: ACTORS["replication-controller"]! },
      { def: ACTORS["endpoints-controller"]! },
      { def: ACTORS.kubelet!, opts: { nodeName: "dk1", engine: "docker" } },
      { def: ACTORS.proxy!, opts: { nodeName: "dk1" } },
    ]);
    await c.store.create<Deployment>("deployments", "default", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [
              {
                name: "web",
                image: "flotilla-busybox:latest",
                imagePullPolicy: "Never",
                command: ["sh", "-c", WEB],
                ports: [{ name: "http", containerPort: 8080 }],
                readinessProbe: { exec: { command: ["test", "-f", "/tmp/ready"] }, periodSeconds: 1, failureThreshold: 1 },
              },
            ],
          },
        },
      },
    } as Deployment);
    svc = await c.store.create<Service>("services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
    } as Service);
    await waitFor(async () => {
      const ep = await c!.store.get<Endpoints>("endpoints", "default", "web").catch(() => undefined);
      return (ep?.subsets ?? []).flatMap((s) => s.addresses ?? []).length === 3;
    }, { timeoutMs: 60_000, what: "3 ready docker pods behind the service" });
  });

  after(async () => {
    if (!c) return;
    await c.store.delete("deployments", "default", "web").catch(() => undefined);
    for (const p of (await c.store.list<Pod>("pods", "default")).items) await c.store.delete("pods", "default", p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined);
    await waitFor(async () => (await c!.store.list("pods", "default")).items.length === 0, { timeoutMs: 30_000 }).catch(() => undefined);
    await c.stop();
  });

  it("reaches all 3 pods with 300 requests through the ClusterIP and the NodePort", async () => {
    const pods = (await c!.store.list<Pod>("pods", "default", { labelSelector: "app=web" })).items.map((p) => p.metadata.name!).sort();
    for (const [host, port] of [[svc.spec.clusterIP!, 80], ["127.0.0.1", svc.spec.ports![0]!.nodePort!]] as const) {
      const seen = await hits(host, port, 300, { batch: 30 });
      expect([...seen.keys()].sort(), `${host}:${port}`).to.deep.equal(pods);
    }
  });

  it("stops sending to a pod within 2 s of it turning not-ready", async () => {
    const victim = (await c!.store.list<Pod>("pods", "default", { labelSelector: "app=web" })).items[0]!.metadata.name!;
    const id = execFileSync("docker", ["ps", "-q", "--filter", `name=flotilla_${cluster}_dk1_default_${victim}_web_`]).toString().trim().split("\n")[0]!;
    execFileSync("docker", ["exec", id, "rm", "/tmp/ready"]);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    const seen = new Set((await hits(svc.spec.clusterIP!, 80, 60)).keys());
    expect(Date.now() - t0).to.be.lessThan(10_000);
    expect([...seen]).to.not.include(victim);
    expect(seen.size).to.equal(2);
  });
});
