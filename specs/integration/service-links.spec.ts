/**
 * Pods find Services like in Kubernetes: a client pod reaches a backend pod through the
 * `<NAME>_SERVICE_HOST` / `<NAME>_SERVICE_PORT` variables the kubelet injects — the ClusterIP for
 * process pods, the Docker bridge gateway (where the proxy listens on the Service's bridge port) for
 * Docker pods.
 */
import { expect } from "chai";
import type { Pod, Service, Endpoints } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { endpointsController } from "../../actors/endpoints-controller/index.ts";
import { proxy } from "../../actors/proxy/index.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { serviceEnv, bridgePortOf } from "../../bus/service-links.ts";
import { ensureBusyboxImage } from "../harness/images.ts";
import { requireDocker } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";
import { subjects } from "../../bus/subjects.ts";
import { nanoid } from "nanoid";

const BACKEND = "require('http').createServer((q, s) => s.end('pong from ' + process.env.HOSTNAME)).listen(Number(process.env.PORT), '127.0.0.1')";

async function logsOf(c: TestCluster, node: string, pod: string): Promise<string> {
  const inbox = `_INBOX.${nanoid()}`;
  let out = "";
  const done = new Promise<void>((resolve) => {
    const sub = c.nc.subscribe(inbox, {
      callback: (_e, m) => {
        const f = JSON.parse(new TextDecoder().decode(m.data)) as { type: string; data?: string };
        if (f.type === "data") out += f.data;
        else {
          sub.unsubscribe();
          resolve();
        }
      },
    });
  });
  c.nc.publish(subjects(c.cluster).nodeVerb(node, "logs"), new TextEncoder().encode(JSON.stringify({ type: "logs", namespace: "default", pod })), { reply: inbox });
  await done;
  return out;
}

describe("service links", function () {
  this.timeout(90_000);

  it("builds Kubernetes' variables from the namespace's Services", () => {
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "redis-primary", annotations: { "flotilla.io/bridge-ports": JSON.stringify({ "6379/TCP": 23456 }) } },
      spec: { clusterIP: "127.96.0.9", ports: [{ name: "db", port: 6379, protocol: "TCP" }] },
    } as Service;
    expect(serviceEnv([svc], {})).to.include({
      REDIS_PRIMARY_SERVICE_HOST: "127.96.0.9",
      REDIS_PRIMARY_SERVICE_PORT: "6379",
      REDIS_PRIMARY_SERVICE_PORT_DB: "6379",
      REDIS_PRIMARY_PORT: "tcp://127.96.0.9:6379",
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: "127.96.0.9",
    });
    expect(serviceEnv([svc], { bridgeAddress: "172.17.0.1" })).to.include({ REDIS_PRIMARY_SERVICE_HOST: "172.17.0.1", REDIS_PRIMARY_SERVICE_PORT: "23456" });
    expect(serviceEnv([{ ...svc, spec: { ...svc.spec, clusterIP: "None" } }], {})).to.deep.equal({});
  });

  describe("on the process engine", () => {
    let c: TestCluster;
    before(async () => {
      c = await startTestCluster({});
      await c.startActors([{ def: kubelet, opts: { nodeName: "sl1", engine: "process" } }, { def: endpointsController }, { def: proxy, opts: { nodeName: "sl1" } }]);
    });
    after(async () => c?.stop());

    it("lets a client pod reach a backend through BACKEND_SERVICE_HOST/PORT", async () => {
      await c.store.create("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "backend", labels: { app: "backend" } },
        spec: { nodeName: "sl1", terminationGracePeriodSeconds: 1, containers: [{ name: "b", image: "node", command: [process.execPath, "-e", BACKEND], ports: [{ containerPort: 8080 }] }] },
      } as Pod);
      await c.store.create<Service>("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "backend" }, spec: { selector: { app: "backend" }, ports: [{ port: 80, targetPort: 8080 }] } } as Service);
      await waitFor(async () => ((await c.store.get<Endpoints>("endpoints", "default", "backend").catch(() => undefined))?.subsets?.[0]?.addresses?.length ?? 0) > 0, { timeoutMs: 20_000, what: "endpoints" });
      const client = `${process.execPath} -e "fetch('http://' + process.env.BACKEND_SERVICE_HOST + ':' + process.env.BACKEND_SERVICE_PORT).then(r => r.text()).then(t => { console.log('got: ' + t); setInterval(() => {}, 1e6) })"`;
      await c.store.create("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "client" },
        spec: { nodeName: "sl1", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "node", command: ["sh", "-c", client] }] },
      } as Pod);
      const log = await waitFor(async () => {
        const l = await logsOf(c, "sl1", "client");
        return l.includes("got: pong from backend") ? l : undefined;
      }, { timeoutMs: 30_000, what: "the client to reach the backend" });
      expect(log).to.contain("pong from backend");
    });
  });

  describe("on the docker engine", () => {
    let c: TestCluster | undefined;
    before(async function () {
      await requireDocker(this);
      await ensureBusyboxImage();
      c = await startTestCluster({ cluster: runCluster("sl") });
      await c.startActors([{ def: kubelet, opts: { nodeName: "sld", engine: "docker" } }, { def: endpointsController }, { def: proxy, opts: { nodeName: "sld" } }]);
    });
    after(async () => {
      if (!c) return;
      for (const p of ["client", "backend"]) await c.store.delete("pods", "default", p, { gracePeriodSeconds: 0 }).catch(() => undefined);
      await c.stop();
    });

    it("lets a client container reach a backend container through the bridge address and the Service's bridge port", async () => {
      const c_ = c!;
      await c_.store.create("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "backend", labels: { app: "backend" } },
        spec: {
          nodeName: "sld",
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "b", image: "flotilla-busybox:latest", imagePullPolicy: "Never", command: ["sh", "-c", "mkdir -p /www && echo pong from busybox > /www/index.html && httpd -f -p 8080 -h /www"], ports: [{ containerPort: 8080 }] }],
        },
      } as Pod);
      const svc = await c_.store.create<Service>("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "backend" }, spec: { selector: { app: "backend" }, ports: [{ port: 80, targetPort: 8080 }] } } as Service);
      expect(bridgePortOf(svc, svc.spec.ports![0]!)).to.be.within(20000, 29999);
      await waitFor(async () => ((await c_.store.get<Endpoints>("endpoints", "default", "backend").catch(() => undefined))?.subsets?.[0]?.addresses?.length ?? 0) > 0, { timeoutMs: 30_000, what: "endpoints" });
      await c_.store.create("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "client" },
        spec: {
          nodeName: "sld",
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "c", image: "flotilla-busybox:latest", imagePullPolicy: "Never", command: ["sh", "-c", "while true; do wget -qO- http://$BACKEND_SERVICE_HOST:$BACKEND_SERVICE_PORT/ && break; sleep 0.5; done; sleep 3600"] }],
        },
      } as Pod);
      const log = await waitFor(async () => {
        const l = await logsOf(c_, "sld", "client");
        return l.includes("pong from busybox") ? l : undefined;
      }, { timeoutMs: 40_000, what: "the client container to reach the backend" });
      expect(log).to.contain("pong from busybox");
    });
  });
});
