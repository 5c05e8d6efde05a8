/**
 * The real kubectl against a cluster with controllers, a scheduler and a simulated node: what a
 * user does with workloads — rollout status, set image, history, undo, describe with the
 * controllers' events, get all, and deleting a namespace.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor } from "../harness/cluster.ts";

const NS = "wl";
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: ${NS}}
spec:
  replicas: 3
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - {name: shop, image: "shop:1"}
`;

describe("kubectl with workloads (e2e)", function () {
  this.timeout(120_000);
  let env: ApiEnv;
  const ok = async (args: string[]) => {
    const r = await env.kubectl(args, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    env = await startApiEnv();
    await env.tc.startActors([
      { def: ACTORS.scheduler! },
      { def: ACTORS["deployment-controller"]! },
      { def: ACTORS["replication-controller"]! },
      { def: ACTORS["garbage-collector"]! },
      { def: ACTORS["namespace-controller"]! },
      { def: ACTORS.kubelet!, opts: { nodeName: "sim-1", engine: "simulated", startLatencyMs: 20 } },
    ]);
    await ok(["create", "namespace", NS]);
  });
  after(async () => env?.stop());

  it("applies a Deployment and follows its rollout until every pod runs", async () => {
    const f = join(env.dir, "shop.yaml");
    writeFileSync(f, deployment);
    expect(await ok(["apply", "-f", f])).to.contain("deployment.apps/shop created");
    expect(await ok(["rollout", "status", "deploy/shop", "-n", NS, "--timeout=60s"])).to.contain('deployment "shop" successfully rolled out');
    const pods = await ok(["get", "pods", "-n", NS, "-l", "app=shop"]);
    expect(pods.split("\n").filter((l) => /\s1\/1\s+Running\s/.test(l))).to.have.length(3);
  });

  it("rolls out a new image, lists the revisions and undoes back to the first", async () => {
    await ok(["set", "image", "deploy/shop", "shop=shop:2", "-n", NS]);
    expect(await ok(["rollout", "status", "deploy/shop", "-n", NS, "--timeout=60s"])).to.contain("successfully rolled out");
    const history = await ok(["rollout", "history", "deploy/shop", "-n", NS]);
    expect(history).to.match(/REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>/);
    expect(await ok(["rollout", "undo", "deploy/shop", "-n", NS])).to.contain("deployment.apps/shop rolled back");
    expect(await ok(["rollout", "status", "deploy/shop", "-n", NS, "--timeout=60s"])).to.contain("successfully rolled out");
    expect(await ok(["get", "deploy", "shop", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}"])).to.equal("shop:1");
    // Every pod runs the first image again once the old ones are gone.
    await waitFor(async () => {
      const images = (await ok(["get", "pods", "-n", NS, "-l", "app=shop", "-o", "jsonpath={.items[*].spec.containers[0].image}"])).split(" ");
      return images.length === 3 && images.every((i) => i === "shop:1");
    }, { timeoutMs: 30_000, what: "three pods of shop:1" });
  });

  it("describes the Deployment with the controllers' scaling events, and lists everything with get all", async () => {
    const d = await ok(["describe", "deploy", "shop", "-n", NS]);
    expect(d).to.match(/Events:[\s\S]*ScalingReplicaSet[\s\S]*Scaled up replica set shop-[a-z0-9]+ to 3/);
    const all = await ok(["get", "all", "-n", NS]);
    expect(all).to.contain("deployment.apps/shop");
    expect(all).to.match(/replicaset\.apps\/shop-[a-z0-9]+/);
    expect(all).to.match(/pod\/shop-[a-z0-9]+-[a-z0-9]{5}/);
  });

  it("deletes the namespace with everything in it", async () => {
    await ok(["delete", "namespace", NS, "--timeout=60s"]);
    expect((await env.kubectl(["get", "ns", NS])).stderr).to.contain('namespaces "wl" not found');
    expect(await ok(["get", "pods", "-A", "-l", "app=shop"])).to.not.contain("shop-");
  });
});
