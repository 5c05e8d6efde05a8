/**
 * The real kubectl against custom resources: apply a CustomResourceDefinition, then use its kind
 * as any other — get with the printer columns, explain, create, patch, a schema violation refused
 * with the field named, unknown fields pruned, and deleting the CRD deletes its objects.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor } from "../harness/cluster.ts";

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
  - name: v1alpha1
    served: true
    storage: false
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v1
    served: true
    storage: true
    subresources: {status: {}, scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A Widget is a thing that is made.
        properties:
          spec:
            type: object
            description: What the widget should be.
            required: [size]
            properties:
              size: {type: integer, minimum: 1, maximum: 10, description: How big the widget is.}
              color: {type: string, enum: [red, blue], default: red}
              replicas: {type: integer}
              label: {type: string, pattern: "^[a-z]+$", maxLength: 8}
          status:
            type: object
            properties:
              replicas: {type: integer}
              phase: {type: string}
`;

describe("kubectl with CustomResourceDefinitions (e2e)", function () {
  this.timeout(120_000);
  let env: ApiEnv;
  const run = (args: string[], input?: string) => env.kubectl(args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const ok = async (args: string[], input?: string) => {
    const r = await run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  /** GET on the api-server itself (no kubectl start-up in the measurement). */
  const get = (path: string, accept = "application/json") =>
    new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
      const req = request(`${env.url}${path}`, { ca: env.caPem, headers: { Authorization: `Bearer ${env.tokens.admin}`, Accept: accept } }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers["content-type"]) }));
      });
      req.on("error", reject);
      req.end();
    });

  before(async () => {
    env = await startApiEnv();
    await env.tc.startActors([{ def: ACTORS["crd-controller"]! }, { def: ACTORS["namespace-controller"]! }]);
  });
  after(async () => env?.stop());

  it("serves a CRD's kind within a second of applying it, with its printer columns", async () => {
    const f = join(env.dir, "crd.yaml");
    writeFileSync(f, crd);
    expect(await ok(["apply", "-f", f])).to.contain("customresourcedefinition.apiextensions.k8s.io/widgets.example.com created");
    // Discovery (legacy and aggregated) and OpenAPI name the kind within a second of the apply.
    await waitFor(async () => (await get("/apis/example.com/v1")).body.includes('"name":"widgets"'), { timeoutMs: 1000, intervalMs: 20, what: "widgets discovered" });
    const aggregated = await get("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json");
    expect(aggregated.type).to.equal("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    expect(aggregated.body).to.include('"resource":"widgets"');
    expect((await get("/openapi/v3")).body).to.include("apis/example.com/v1");
    await waitFor(async () => (await run(["get", "widgets"])).code === 0, { timeoutMs: 20_000, what: "kubectl get widgets to succeed" });
    const established = await ok(["get", "crd", "widgets.example.com", "-o", "jsonpath={.status.conditions[?(@.type==\"Established\")].status}"]);
    expect(established).to.equal("True");
    await ok(["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n");
    const table = await ok(["get", "wg"]);
    expect(table).to.match(/NAME\s+SIZE\s+COLOR\s+AGE/);
    expect(table).to.match(/w1\s+3\s+red\s+\d+s/);
  });

  it("streams changes of custom resources to a watcher", async () => {
    const watch = env.kubectlBackground(["get", "widgets", "-w", "--output-watch-events"]);
    try {
      await waitFor(() => /ADDED\s+w1\s/.test(watch.output()), { timeoutMs: 20_000, what: "the watch's first list" });
      await ok(["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: watched}\nspec: {size: 7}\n");
      await waitFor(() => /ADDED\s+watched\s+7\s/.test(watch.output()), { timeoutMs: 20_000, what: "the new widget streamed" });
      await ok(["delete", "widget", "watched"]);
      await waitFor(() => /DELETED\s+watched\s/.test(watch.output()), { timeoutMs: 20_000, what: "the deletion streamed" });
    } finally {
      watch.stop();
    }
  });

  it("streams custom resources to the Python client's watch", async () => {
    const script = fileURLToPath(new URL("../fixtures/python/watch_custom_objects.py", import.meta.url));
    const child = spawn("/usr/bin/python3", [script, env.kubeconfig, "example.com", "v1", "default", "widgets", "pywatched"], { env: { ...process.env, HOME: env.home }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    try {
      await waitFor(() => /^ADDED w1 /m.test(out), { timeoutMs: 20_000, what: "the Python watch's first list" });
      await ok(["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: pywatched}\nspec: {size: 9}\n");
      await waitFor(() => /^ADDED pywatched 9$/m.test(out), { timeoutMs: 20_000, what: "the new widget in the Python watch" });
      await ok(["patch", "widget", "pywatched", "--type", "merge", "-p", '{"spec":{"size":10}}']);
      await waitFor(() => /^MODIFIED pywatched 10$/m.test(out), { timeoutMs: 20_000, what: "the change in the Python watch" });
      await ok(["delete", "widget", "pywatched"]);
      expect(await exited, out).to.equal(0);
      expect(out).to.match(/^DELETED pywatched 10$/m);
    } finally {
      child.kill();
    }
  });

  it("explains the kind from its schema", async () => {
    const out = await ok(["explain", "widget.spec"]);
    expect(out).to.contain("What the widget should be.");
    expect(out).to.match(/size\s+<integer>.*-required-/);
  });

  it("refuses an object that breaks the schema with 422 naming the field", async () => {
    const r = await run(["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 11, color: green}\n");
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/Widget "w2" is invalid/);
    expect(r.stderr).to.contain("spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10");
    expect(r.stderr).to.contain('spec.color: Unsupported value: "green"');
    const missing = await run(["create", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {color: blue}\n");
    expect(missing.stderr).to.contain("spec.size: Required value");
  });

  it("prunes unknown fields when validation is off, and patches with merge and JSON patch but not strategic merge", async () => {
    await ok(["create", "--validate=false", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w4}\nspec: {size: 2, extra: gone}\nother: gone\n");
    const stored = JSON.parse(await ok(["get", "widget", "w4", "-o", "json"]));
    expect(stored.spec).to.deep.equal({ size: 2, color: "red" });
    expect(stored).to.not.have.property("other");
    await ok(["patch", "widget", "w4", "--type=merge", "-p", '{"spec":{"color":"blue"}}']);
    await ok(["patch", "widget", "w4", "--type=json", "-p", '[{"op":"replace","path":"/spec/size","value":5}]']);
    expect(await ok(["get", "widget", "w4", "-o", "jsonpath={.spec.size} {.spec.color}"])).to.equal("5 blue");
    const smp = await run(["patch", "widget", "w4", "--type=strategic", "-p", '{"spec":{"size":6}}']);
    expect(smp.code).to.not.equal(0);
    expect(smp.stderr).to.match(/UnsupportedMediaType|unknown format|415|not supported/i);
    const bad = await run(["patch", "widget", "w4", "--type=merge", "-p", '{"spec":{"label":"NOT-LOWER"}}']);
    expect(bad.stderr).to.contain("spec.label in body should match '^[a-z]+$'");
  });

  it("serves the status and scale subresources and the other served version", async () => {
    await ok(["scale", "widget", "w4", "--replicas=4"]);
    expect(await ok(["get", "widget", "w4", "-o", "jsonpath={.spec.replicas}"])).to.equal("4");
    await ok(["patch", "widget", "w4", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Ready","replicas":4}}']);
    expect(await ok(["get", "widget", "w4", "-o", "jsonpath={.status.phase}"])).to.equal("Ready");
    expect(await ok(["get", "widgets.v1alpha1.example.com", "w4", "-o", "jsonpath={.apiVersion} {.spec.size}"])).to.equal("example.com/v1alpha1 5");
    const labelled = await ok(["label", "widget", "w4", "tier=gold"]);
    expect(labelled).to.contain("labeled");
    expect(await ok(["get", "widgets", "-l", "tier=gold", "-o", "name"])).to.equal("widget.example.com/w4\n");
  });

  it("deletes a namespace with the custom resources in it", async () => {
    await ok(["create", "namespace", "shop"]);
    await ok(["apply", "-n", "shop", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: inside}\nspec: {size: 1}\n");
    expect(await ok(["delete", "namespace", "shop", "--timeout=30s"])).to.contain('namespace "shop" deleted');
    expect((await run(["get", "namespace", "shop"])).stderr).to.contain("NotFound");
  });

  it("deletes a custom resource, and deleting the CRD deletes its objects and stops serving the kind", async () => {
    expect(await ok(["delete", "widget", "w1"])).to.contain('widget.example.com "w1" deleted');
    await ok(["delete", "crd", "widgets.example.com", "--timeout=30s"]);
    const r = await run(["get", "widgets"]);
    expect(r.code).to.not.equal(0);
    // With discovery cached kubectl asks anyway and hears NotFound; uncached, it knows no such type.
    expect(r.stderr).to.match(/the server doesn't have a resource type|NotFound|could not find the requested resource/);
    // Defined again, the kind starts empty: its objects went with the CRD.
    await ok(["apply", "-f", join(env.dir, "crd.yaml")]);
    await waitFor(async () => (await run(["get", "widgets"])).code === 0, { timeoutMs: 10_000, what: "widgets served again" });
    const again = await run(["get", "widgets", "-A"]);
    expect(again.stderr).to.contain("No resources found");
  });
});
