/**
 * `kubectl top nodes` and `kubectl top pods` (kubectl 1.32) against metrics.k8s.io/v1beta1 served
 * by the api-server from the kubelets' reports, on the docker and process engines: a pod that
 * spins shows a much higher cpu than an idle one, and the node shows up with its usage.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";
import { needEngineImages, BUSYBOX_IMAGE } from "../harness/images.ts";

const pods = (ns: string, node: string, image: string) => `apiVersion: v1
kind: Pod
metadata: {name: busy, namespace: ${ns}, labels: {load: spin}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: spin
    image: ${image}
    resources: {limits: {cpu: 300m, memory: 64Mi}}
    command: ["sh", "-c", "while :; do :; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: idle, namespace: ${ns}, labels: {load: none}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: nap
    image: ${image}
    command: ["sh", "-c", "exec sleep 1000"]
`;

/** `kubectl top` rows as { name: [cpu millicores, memory MiB] }. */
function rows(out: string): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (const line of out.trim().split("\n").slice(1)) {
    const [name, cpu, ...rest] = line.trim().split(/\s+/);
    const mem = rest.find((x) => /Mi$/.test(x));
    if (name && cpu && /m$/.test(cpu) && mem) m.set(name, [Number(cpu.slice(0, -1)), Number(mem.slice(0, -2))]);
  }
  return m;
}

for (const engine of ["docker", "process"] as const) {
  describe(`kubectl top (${engine} engine)`, function () {
    this.timeout(120_000);
    let env: ApiEnv;
    const ns = `top-${engine}`;
    const node = `top-${engine}-node`;
    const ok = async (args: string[]) => {
      const r = await env.kubectl(args, { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    };

    before(async function () {
      await needEngineImages(this, engine);
      env = await startApiEnv();
      await env.tc.startActors(withPodCleanup([{ def: ACTORS.kubelet!, opts: { nodeName: node, engine, dataDir: env.dir, metricsIntervalMs: 1000 } }]));
      await ok(["create", "namespace", ns]);
      const f = join(env.dir, "pods.yaml");
      writeFileSync(f, pods(ns, node, BUSYBOX_IMAGE));
      await ok(["apply", "-f", f]);
      await ok(["wait", "--for=condition=Ready", "pod/busy", "pod/idle", "-n", ns, "--timeout=60s"]);
    });
    after(async () => {
      if (!env) return;
      await env.kubectl(["delete", "pod", "busy", "idle", "-n", ns, "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
      await env.stop();
    });

    it("shows a busy pod's cpu well above an idle pod's, within its limit, and both pods' memory", async () => {
      const seen = await waitFor(async () => {
        const r = await env.kubectl(["top", "pods", "-n", ns]);
        const m = rows(r.stdout);
        const busy = m.get("busy");
        const idle = m.get("idle");
        // How much cpu the spinning pod gets depends on what else the machine runs; it is always
        // clearly more than a sleeping pod's.
        return r.code === 0 && busy && idle && busy[0] >= 30 && busy[0] > 5 * idle[0] ? m : undefined;
      }, { timeoutMs: 40_000, what: "kubectl top pods with a busy pod" });
      const [busyCpu] = seen.get("busy")!;
      const [, idleMem] = seen.get("idle")!;
      // The 300m limit holds (a little slack for the sampling window's edges).
      expect(busyCpu).to.be.at.most(400);
      expect(idleMem).to.be.at.least(0);
      const labelled = rows(await ok(["top", "pods", "-n", ns, "-l", "load=spin"]));
      expect([...labelled.keys()]).to.deep.equal(["busy"]);
      const containers = await ok(["top", "pod", "busy", "-n", ns, "--containers"]);
      expect(containers).to.match(/busy\s+spin\s+\d+m/);
    });

    it("shows the node with its cpu and memory use and their share of allocatable", async () => {
      const out = await waitFor(async () => {
        const r = await env.kubectl(["top", "nodes"]);
        return r.code === 0 && r.stdout.includes(node) ? r.stdout : undefined;
      }, { timeoutMs: 20_000, what: "kubectl top nodes" });
      const line = out.split("\n").find((l) => l.startsWith(node))!;
      expect(line).to.match(new RegExp(`^${node}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`));
      const m = rows(out);
      expect(m.get(node)![1]).to.be.greaterThan(0);
    });
  });
}
