/**
 * The HorizontalPodAutoscaler with real load, as a user drives it with kubectl 1.32: a Deployment
 * of process-engine pods that spin the cpu until a stop file appears; `kubectl autoscale` makes an
 * HPA (cpu 50 % of request, 1..3 replicas); the controller scales the Deployment up to 3 from
 * the kubelets' metrics, and — once the load stops — back down to 1 after a short scale-down
 * stabilisation window set in the HPA's behavior.
 */
import { expect } from "chai";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor } from "../harness/cluster.ts";

const deployment = (ns: string, stopFile: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: burner, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: burner}}
  template:
    metadata: {labels: {app: burner}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: spin
        image: busybox
        resources: {requests: {cpu: 100m}, limits: {cpu: 200m, memory: 64Mi}}
        command: ["sh", "-c", "while [ ! -e ${stopFile} ]; do :; done; exec sleep 100000"]
`;

describe("HorizontalPodAutoscaler with real load (process engine, kubectl)", function () {
  this.timeout(180_000);
  let env: ApiEnv;
  const ns = "hpa-load";
  const ok = async (args: string[]) => {
    const r = await env.kubectl(args, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  // The pods (an unprivileged user) look for the stop file: outside the kubelet's data dir, which they cannot enter.
  const stopDir = mkdtempSync(join(tmpdir(), "flotilla-hpa-stop-"));
  chmodSync(stopDir, 0o755);
  const replicas = async () => Number(JSON.parse(await ok(["get", "deployment", "burner", "-n", ns, "-o", "json"])).spec.replicas);

  before(async () => {
    env = await startApiEnv();
    await env.tc.startActors([
      { def: ACTORS.scheduler! },
      { def: ACTORS["deployment-controller"]! },
      { def: ACTORS["replication-controller"]! },
      { def: ACTORS["hpa-controller"]!, opts: { syncPeriodMs: 1000 } },
      { def: ACTORS.kubelet!, opts: { nodeName: "hpa-node", engine: "process", dataDir: env.dir, metricsIntervalMs: 1000 } },
    ]);
    await ok(["create", "namespace", ns]);
    const f = join(env.dir, "deploy.yaml");
    writeFileSync(f, deployment(ns, join(stopDir, "stop-load")));
    await ok(["apply", "-f", f]);
    await ok(["rollout", "status", "deployment/burner", "-n", ns, "--timeout=60s"]);
  });
  after(async () => {
    if (env) {
      writeFileSync(join(stopDir, "stop-load"), "");
      await env.kubectl(["delete", "namespace", ns, "--wait=false"]).catch(() => undefined);
      await env.stop();
    }
    rmSync(stopDir, { recursive: true, force: true });
  });

  it("scales a cpu-busy Deployment up to maxReplicas, and back down when the load stops", async () => {
    await ok(["autoscale", "deployment", "burner", "-n", ns, "--cpu-percent=50", "--min=1", "--max=3"]);
    // A short scale-down window keeps the spec short (Kubernetes' default is 300 s).
    await ok(["patch", "hpa", "burner", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { behavior: { scaleDown: { stabilizationWindowSeconds: 3 } } } })]);

    await waitFor(async () => ((await replicas()) === 3 ? true : undefined), { timeoutMs: 60_000, what: "scaled up to 3" });
    const table = await waitFor(async () => {
      const out = await ok(["get", "hpa", "burner", "-n", ns]);
      return /burner\s+Deployment\/burner\s+cpu: \d+%\/50%\s+1\s+3\s+3\s+/.test(out) ? out : undefined;
    }, { timeoutMs: 30_000, what: "kubectl get hpa showing 3 replicas" });
    expect(table.split("\n")[0]).to.match(/^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE$/);
    // (How busy the pods look from here on depends on what else the machine runs: the spec asserts
    // the shapes, the scale-up and its reason, not utilisation figures.)
    const hpa = JSON.parse(await ok(["get", "hpa.v2.autoscaling", "burner", "-n", ns, "-o", "json"]));
    expect(hpa.status.currentMetrics[0].resource.current.averageUtilization).to.be.a("number");
    expect(hpa.status.conditions.map((c: { type: string }) => c.type)).to.deep.equal(["AbleToScale", "ScalingActive", "ScalingLimited"]);
    const events = await ok(["get", "events", "-n", ns, "--field-selector", "involvedObject.kind=HorizontalPodAutoscaler", "-o", "json"]);
    expect(JSON.parse(events).items.some((e: { reason: string; message: string }) => e.reason === "SuccessfulRescale" && /above target/.test(e.message))).to.equal(true);

    const described = await ok(["describe", "hpa", "burner", "-n", ns]);
    expect(described).to.match(/Reference:\s+Deployment\/burner/);
    expect(described).to.match(/resource cpu on pods\s+\(as a percentage of request\):\s+\d+% \(\d+m\) \/ 50%/);
    expect(described).to.match(/ScalingActive\s+True\s+ValidMetricFound/);
    // The v1 view kubectl autoscale wrote through.
    const v1 = JSON.parse(await ok(["get", "horizontalpodautoscalers.v1.autoscaling", "burner", "-n", ns, "-o", "json"]));
    expect([v1.apiVersion, v1.spec.targetCPUUtilizationPercentage, v1.spec.maxReplicas]).to.deep.equal(["autoscaling/v1", 50, 3]);
    expect(v1.status.currentCPUUtilizationPercentage).to.be.a("number");

    writeFileSync(join(stopDir, "stop-load"), "");
    await waitFor(async () => ((await replicas()) === 1 ? true : undefined), { timeoutMs: 60_000, what: "scaled back down to 1" });
    const after = JSON.parse(await ok(["get", "hpa", "burner", "-n", ns, "-o", "json"]));
    expect(after.status.desiredReplicas).to.equal(1);
  });
});
