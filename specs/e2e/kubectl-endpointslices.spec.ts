/**
 * The real kubectl against EndpointSlices: a Deployment exposed as a Service gets a slice beside
 * its Endpoints (labels, ports, addresses, ready conditions), following scale changes; a Service
 * without a selector has its Endpoints mirrored.
 */
import { expect } from "chai";
import type { ApiEnv } from "./api-server-env.ts";
import type { EndpointSlice } from "../../bus/networking.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor } from "../harness/cluster.ts";

describe("kubectl with EndpointSlices (e2e)", function () {
  this.timeout(180_000);
  let env: ApiEnv;
  const ok = async (args: string[], input?: string) => {
    const r = await env.kubectl(args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const slicesOf = async (svc: string): Promise<EndpointSlice[]> => (JSON.parse(await ok(["get", "endpointslices", "-l", `kubernetes.io/service-name=${svc}`, "-o", "json"])) as { items: EndpointSlice[] }).items;

  before(async () => {
    env = await startApiEnv();
    await env.tc.startActors([
      { def: ACTORS.scheduler! },
      { def: ACTORS["replication-controller"]! },
      { def: ACTORS["deployment-controller"]! },
      { def: ACTORS["endpoints-controller"]! },
      { def: ACTORS["endpointslice-controller"]! },
      { def: ACTORS.kubelet!, opts: { nodeName: "sim-1", engine: "simulated", startLatencyMs: 20 } },
    ]);
  });
  after(async () => env?.stop());

  it("keeps a slice beside the Endpoints of an exposed Deployment as it scales", async () => {
    await ok(["create", "deployment", "web", "--image=busybox", "--replicas=2", "--port=8080"]);
    await ok(["expose", "deployment", "web", "--port=80", "--target-port=8080", "--name=web"]);
    const two = await waitFor(async () => {
      const s = await slicesOf("web");
      return s.length === 1 && s[0]!.endpoints?.length === 2 && s[0]!.endpoints.every((e) => e.conditions?.ready) ? s[0] : undefined;
    }, { timeoutMs: 30_000, what: "a slice with two ready endpoints" });
    expect(two.metadata.labels?.["endpointslice.kubernetes.io/managed-by"]).to.equal("endpointslice-controller.k8s.io");
    expect(two.addressType).to.equal("IPv4");
    expect(two.ports).to.deep.equal([{ name: "", port: 8080, protocol: "TCP" }]);
    expect(two.endpoints!.every((e) => e.nodeName === "sim-1" && e.targetRef?.kind === "Pod")).to.equal(true);
    const endpoints = JSON.parse(await ok(["get", "endpoints", "web", "-o", "jsonpath={.subsets[0].addresses[*].ip}"]).then((s) => JSON.stringify(s.split(" ").sort())));
    expect(two.endpoints!.map((e) => e.addresses[0]).sort()).to.deep.equal(endpoints);
    const table = await ok(["get", "endpointslices"]);
    expect(table).to.match(/NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/);
    expect(table).to.match(new RegExp(`${two.metadata.name}\\s+IPv4\\s+8080\\s+\\d+\\.\\d+\\.\\d+\\.\\d+,\\d+\\.\\d+\\.\\d+\\.\\d+\\s`));

    await ok(["scale", "deployment", "web", "--replicas=0"]);
    const empty = await waitFor(async () => {
      const s = await slicesOf("web");
      return s.length === 1 && s[0]!.endpoints?.length === 0 ? s[0] : undefined;
    }, { timeoutMs: 30_000, what: "one empty slice left" });
    expect(await ok(["get", "endpointslices", empty.metadata.name!])).to.match(/IPv4\s+<unset>\s+<unset>\s/);
    await ok(["delete", "service", "web"]);
    await waitFor(async () => (await slicesOf("web")).length === 0, { timeoutMs: 20_000, what: "the slices gone with the Service" });
  });

  it("mirrors the Endpoints of a Service without a selector", async () => {
    await ok(["apply", "-f", "-"], "apiVersion: v1\nkind: Service\nmetadata: {name: outside}\nspec:\n  ports: [{name: https, port: 443}]\n---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: outside}\nsubsets:\n- addresses: [{ip: 127.0.0.9}]\n  ports: [{name: https, port: 6443}]\n");
    const s = await waitFor(async () => (await slicesOf("outside"))[0], { timeoutMs: 20_000, what: "the mirrored slice" });
    expect(s.metadata.labels?.["endpointslice.kubernetes.io/managed-by"]).to.equal("endpointslicemirroring-controller.k8s.io");
    expect(s.endpoints).to.deep.equal([{ addresses: ["127.0.0.9"], conditions: { ready: true, serving: true, terminating: false } }]);
    expect(s.ports).to.deep.equal([{ name: "https", port: 6443, protocol: "TCP" }]);
  });
});
