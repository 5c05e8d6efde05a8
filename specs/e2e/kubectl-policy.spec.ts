/**
 * The real kubectl against quotas, limit ranges and disruption budgets: `kubectl create quota`
 * and a pod over it refused with Kubernetes' message, usage shown by `kubectl get quota`, a
 * LimitRange default in a created pod, and `kubectl create pdb` holding `kubectl drain` back with
 * 429s once the budget allows no more disruptions.
 */
import { expect } from "chai";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor } from "../harness/cluster.ts";

describe("kubectl with quotas and disruption budgets (e2e)", function () {
  this.timeout(180_000);
  let env: ApiEnv;
  const run = (args: string[], input?: string, timeoutMs = 60_000) => env.kubectl(args, { timeoutMs, ...(input !== undefined ? { input } : {}) });
  const ok = async (args: string[], input?: string) => {
    const r = await run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    env = await startApiEnv();
    await env.tc.startActors([
      { def: ACTORS.scheduler! },
      { def: ACTORS["quota-controller"]! },
      { def: ACTORS["disruption-controller"]! },
      { def: ACTORS.kubelet!, opts: { nodeName: "sim-1", engine: "simulated", startLatencyMs: 20 } },
    ]);
    await ok(["create", "namespace", "quota"]);
    await ok(["create", "namespace", "budget"]);
  });
  after(async () => env?.stop());

  it("refuses the 11th pod under `kubectl create quota --hard=pods=10` with 403 and shows the usage", async () => {
    expect(await ok(["create", "quota", "small", "--hard=pods=10,count/configmaps=5", "-n", "quota"])).to.contain("resourcequota/small created");
    const pods = Array.from({ length: 10 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i + 1}}\nspec:\n  containers: [{name: c, image: busybox}]\n`).join("---\n");
    await ok(["apply", "-n", "quota", "-f", "-"], pods);
    const r = await run(["run", "eleventh", "--image=busybox", "-n", "quota"]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('Error from server (Forbidden): pods "eleventh" is forbidden: exceeded quota: small, requested: pods=1, used: pods=10, limited: pods=10');
    await waitFor(async () => /pods: 10\/10/.test(await ok(["get", "quota", "small", "-n", "quota"])), { timeoutMs: 20_000, what: "the quota's usage shown" });
    // Deleting a pod gives its share back.
    await ok(["delete", "pod", "p1", "-n", "quota", "--grace-period=0", "--force"]);
    await waitFor(async () => /pods: 9\/10/.test(await ok(["get", "quota", "small", "-n", "quota"])), { timeoutMs: 20_000, what: "the usage given back" });
    await ok(["run", "eleventh", "--image=busybox", "-n", "quota"]);
  });

  it("gives a pod its namespace's LimitRange defaults", async () => {
    await ok(["apply", "-n", "quota", "-f", "-"], "apiVersion: v1\nkind: LimitRange\nmetadata: {name: defaults}\nspec:\n  limits:\n  - type: Container\n    default: {cpu: 500m}\n    defaultRequest: {cpu: 100m, memory: 64Mi}\n");
    await ok(["delete", "quota", "small", "-n", "quota"]);
    await ok(["run", "limited", "--image=busybox", "-n", "quota"]);
    const res = JSON.parse(await ok(["get", "pod", "limited", "-n", "quota", "-o", "jsonpath={.spec.containers[0].resources}"]));
    expect(res).to.deep.equal({ limits: { cpu: "500m" }, requests: { cpu: "100m", memory: "64Mi" } });
  });

  it("holds `kubectl drain` back with 429 once `kubectl create pdb` allows no more disruptions", async () => {
    for (const p of ["web-1", "web-2"]) await ok(["run", p, "--image=busybox", "--labels=app=web", "-n", "budget"]);
    await waitFor(async () => (await ok(["get", "pods", "-n", "budget"])).match(/Running/g)?.length === 2, { timeoutMs: 30_000, what: "two running pods" });
    expect(await ok(["create", "pdb", "web", "--selector=app=web", "--min-available=1", "-n", "budget"])).to.contain("poddisruptionbudget.policy/web created");
    await waitFor(async () => /web\s+1\s+N\/A\s+1\s/.test(await ok(["get", "pdb", "-n", "budget"])), { timeoutMs: 20_000, what: "the budget allowing one disruption" });
    const drain = await run(["drain", "sim-1", "--force", "--pod-selector=app=web", "--timeout=12s"], undefined, 60_000);
    expect(drain.code).to.not.equal(0);
    expect(drain.stdout + drain.stderr).to.contain("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(drain.stdout).to.match(/pod\/web-[12] evicted/);
    const left = (await ok(["get", "pods", "-n", "budget", "-o", "name"])).trim().split("\n");
    expect(left).to.have.length(1);
    await waitFor(async () => /web\s+1\s+N\/A\s+0\s/.test(await ok(["get", "pdb", "-n", "budget"])), { timeoutMs: 20_000, what: "no disruption allowed" });
  });
});
