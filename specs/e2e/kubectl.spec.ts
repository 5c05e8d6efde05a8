/**
 * The real kubectl 1.32 against nats-server + store + api-server (no controllers: flows that need
 * them — rollout status/undo, pods created by a Deployment — belong in the controllers' e2e specs;
 * see the "with controllers" block at the end).
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:https";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { waitFor } from "../harness/cluster.ts";
import { writeKubeconfig } from "../../actors/api-server/kubeconfig.ts";

const NS = "e2e";

const deployment = (image: string, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        env: [{name: A, value: "1"}]
        ports: [{containerPort: 80}]
      - name: side
        image: busybox:1.36
        command: ["sleep", "3600"]${extra}
`;

describe("kubectl against the api-server", function () {
  this.timeout(60_000);
  let env: ApiEnv;
  const file = (name: string, text: string) => {
    const p = join(env.dir, name);
    writeFileSync(p, text);
    return p;
  };
  const ok = async (args: string[]) => {
    const r = await env.kubectl(args);
    expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(async () => {
    env = await startApiEnv();
  });
  after(async () => {
    await env?.stop();
  });

  it("answers /version without a token", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      request(`${env.url}/version?timeout=5s`, { ca: env.caPem }, (res) => {
        let d = "";
        res.on("data", (c) => (d += c));
        res.on("end", () => resolve(d));
      })
        .on("error", reject)
        .end();
    });
    expect(JSON.parse(body)).to.include({ major: "1", minor: "32" });
  });

  it("creates a namespace from a protobuf body", async () => {
    expect(await ok(["create", "namespace", NS])).to.contain(`namespace/${NS} created`);
    expect(await ok(["get", "ns", NS, "-o", "jsonpath={.status.phase}"])).to.equal("Active");
  });

  it("applies a Deployment with validation on, then applies a new image as a strategic merge patch", async () => {
    expect(await ok(["apply", "-f", file("d1.yaml", deployment("nginx:1.25"))])).to.contain("deployment.apps/web created");
    expect(await ok(["apply", "-f", file("d2.yaml", deployment("nginx:1.26"))])).to.contain("deployment.apps/web configured");
    const d = JSON.parse(await ok(["get", "deploy", "web", "-n", NS, "-o", "json"]));
    const containers = d.spec.template.spec.containers as { name: string; image: string; env?: unknown[] }[];
    expect(containers.map((c) => `${c.name}=${c.image}`)).to.deep.equal(["web=nginx:1.26", "side=busybox:1.36"]);
    expect(containers[0]!.env).to.deep.equal([{ name: "A", value: "1" }]);
    expect(d.metadata.annotations).to.have.property("kubectl.kubernetes.io/last-applied-configuration");
  });

  it("rejects an unknown field under strict validation", async () => {
    const r = await env.kubectl(["apply", "-f", file("bad-field.yaml", deployment("nginx:1.26").replace("replicas: 2", "replicas: 2\n  bogus: 1"))]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('unknown field "spec.bogus"');
  });

  it("prints server-side tables for get, get -o wide and get -A", async () => {
    const plain = await ok(["get", "deploy", "-n", NS]);
    expect(plain).to.match(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(plain).to.match(/\nweb\s+0\/2\s+/);
    const wide = await ok(["get", "deploy", "-n", NS, "-o", "wide"]);
    expect(wide).to.match(/CONTAINERS\s+IMAGES\s+SELECTOR/);
    expect(wide).to.contain("nginx:1.26,busybox:1.36");
    expect(await ok(["get", "deploy", "-A"])).to.match(/NAMESPACE\s+NAME[\s\S]*\ne2e\s+web/);
  });

  it("prints objects as YAML and JSON", async () => {
    expect(await ok(["get", "deploy", "web", "-n", NS, "-o", "yaml"])).to.match(/kind: Deployment[\s\S]*name: web/);
    expect(JSON.parse(await ok(["get", "deploy", "-n", NS, "-o", "json"])).items).to.have.length(1);
  });

  it("selects by label", async () => {
    expect((await ok(["get", "deploy", "-n", NS, "-l", "app=web", "-o", "name"])).trim()).to.equal("deployment.apps/web");
    const none = await env.kubectl(["get", "deploy", "-n", NS, "-l", "app in (db)"]);
    expect(none.stderr).to.contain(`No resources found in ${NS} namespace.`);
  });

  it("sees a change through get -w", async () => {
    const w = env.kubectlBackground(["get", "deploy", "-n", NS, "-w"]);
    try {
      await waitFor(() => /^web\s/m.test(w.output()), { what: "the first watch row" });
      await ok(["scale", "deploy", "web", "-n", NS, "--replicas=3"]);
      await waitFor(() => (w.output().match(/^web\s/gm) ?? []).length >= 2, { what: "a second row after scaling" });
      expect(w.child.exitCode).to.equal(null);
    } finally {
      w.stop();
    }
  });

  it("scales through the scale subresource", async () => {
    expect(await ok(["scale", "deploy", "web", "-n", NS, "--replicas=4"])).to.contain("deployment.apps/web scaled");
    expect(await ok(["get", "deploy", "web", "-n", NS, "-o", "jsonpath={.spec.replicas}"])).to.equal("4");
  });

  it("says NotFound for a missing pod", async () => {
    const r = await env.kubectl(["get", "pod", "missing", "-n", NS]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('Error from server (NotFound): pods "missing" not found');
  });

  it("answers 409 Conflict to a replace with a stale resourceVersion", async () => {
    const stale = await ok(["get", "deploy", "web", "-n", NS, "-o", "yaml"]);
    await ok(["scale", "deploy", "web", "-n", NS, "--replicas=2"]);
    const r = await env.kubectl(["replace", "-f", file("stale.yaml", stale)]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain("Error from server (Conflict)");
    expect(r.stderr).to.contain('Operation cannot be fulfilled on deployments.apps "web": the object has been modified');
  });

  it("answers 422 naming the field of an invalid manifest", async () => {
    const bad = `apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: ${NS}}\nspec:\n  containers:\n  - name: c\n`;
    const r = await env.kubectl(["apply", "-f", file("bad.yaml", bad)]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('The Pod "bad" is invalid');
    expect(r.stderr).to.contain("spec.containers[0].image");
  });

  it("creates a deployment from kubectl's protobuf body", async () => {
    expect(await ok(["create", "deployment", "web2", "-n", NS, "--image=busybox:1.36", "--replicas=2"])).to.contain("deployment.apps/web2 created");
    const d = JSON.parse(await ok(["get", "deploy", "web2", "-n", NS, "-o", "json"]));
    expect(d.spec.replicas).to.equal(2);
    expect(d.spec.template.spec.containers[0].image).to.equal("busybox:1.36");
  });

  it("cordons and drains a node, evicting its pod", async () => {
    const node = `apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {kubernetes.io/hostname: n1}}\n`;
    const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: loner, namespace: ${NS}}\nspec:\n  nodeName: n1\n  containers: [{name: c, image: busybox:1.36}]\n`;
    await ok(["create", "-f", file("node.yaml", node)]);
    await ok(["create", "-f", file("pod.yaml", pod)]);
    expect(await ok(["cordon", "n1"])).to.contain("node/n1 cordoned");
    expect(await ok(["get", "node", "n1", "-o", "jsonpath={.spec.unschedulable}"])).to.equal("true");
    const r = await env.kubectl(["drain", "n1", "--force", "--ignore-daemonsets", "--grace-period=0", "--timeout=30s"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`pod/loner evicted`);
    expect(r.stdout).to.contain("node/n1 drained");
    const gone = await env.kubectl(["get", "pod", "loner", "-n", NS]);
    expect(gone.stderr).to.contain("NotFound");
  });

  it("describes a pod with its events", async () => {
    const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: described, namespace: ${NS}}\nspec:\n  containers: [{name: c, image: busybox:1.36}]\n`;
    await ok(["create", "-f", file("pod2.yaml", pod)]);
    const uid = await ok(["get", "pod", "described", "-n", NS, "-o", "jsonpath={.metadata.uid}"]);
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "described.1", namespace: NS },
      involvedObject: { kind: "Pod", name: "described", namespace: NS, uid, apiVersion: "v1" },
      reason: "Scheduled",
      message: "Successfully assigned e2e/described to n9",
      type: "Normal",
      source: { component: "default-scheduler" },
      count: 1,
    };
    await ok(["create", "-f", file("event.json", JSON.stringify(event))]);
    const out = await ok(["describe", "pod", "described", "-n", NS]);
    expect(out).to.match(/Name:\s+described/);
    expect(out).to.match(/Events:[\s\S]*Scheduled[\s\S]*Successfully assigned e2e\/described to n9/);
  });

  it("deletes a deployment", async () => {
    expect(await ok(["delete", "deploy", "web2", "-n", NS])).to.contain('deployment.apps "web2" deleted');
    expect((await env.kubectl(["get", "deploy", "web2", "-n", NS])).stderr).to.contain("NotFound");
  });

  it("refuses a request without a valid token and a write with the view token", async () => {
    const bad = join(env.dir, "bad-kubeconfig");
    writeKubeconfig(bad, { server: env.url, caPem: env.caPem, token: "nope" });
    const r = await env.kubectl(["get", "ns", "--kubeconfig", bad], { kubeconfig: bad });
    expect(r.stderr).to.contain("You must be logged in to the server");
    const view = join(env.dir, "view-kubeconfig");
    writeKubeconfig(view, { server: env.url, caPem: env.caPem, token: env.tokens.view });
    expect((await env.kubectl(["get", "deploy", "-n", NS], { kubeconfig: view })).code).to.equal(0);
    const w = await env.kubectl(["delete", "deploy", "web", "-n", NS], { kubeconfig: view });
    expect(w.stderr).to.contain('Error from server (Forbidden): deployments.apps "web" is forbidden: User "viewer" cannot delete resource "deployments" in API group "apps" in the namespace "e2e"');
  });

  // With controllers (landed by whoever lands them): rollout status / undo, pods created by the
  // Deployment, `kubectl logs deploy/web`, `get all`.
});
