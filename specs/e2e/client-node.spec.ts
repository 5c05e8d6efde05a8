/** @kubernetes/client-node 1.4.0 against nats-server + store + api-server. */
import { expect } from "chai";
import * as k8s from "@kubernetes/client-node";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { waitFor } from "../harness/cluster.ts";

const NS = "default";
const cm = (name: string, data: Record<string, string>): k8s.V1ConfigMap => ({ metadata: { name, labels: { suite: "client-node" } }, data });

describe("@kubernetes/client-node against the api-server", function () {
  this.timeout(60_000);
  let env: ApiEnv;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;

  before(async () => {
    env = await startApiEnv();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(env.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  after(async () => {
    await env?.stop();
  });

  it("creates, lists, patches and deletes a ConfigMap", async () => {
    const created = await core.createNamespacedConfigMap({ namespace: NS, body: cm("one", { a: "1" }) });
    expect(created.metadata?.uid).to.be.a("string");
    expect(created.kind).to.equal("ConfigMap");
    const list = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: "suite=client-node" });
    expect(list.items.map((i) => i.metadata?.name)).to.deep.equal(["one"]);
    expect(Number(list.metadata?.resourceVersion)).to.be.greaterThan(0);
    const patched = await core.patchNamespacedConfigMap(
      { name: "one", namespace: NS, body: [{ op: "replace", path: "/data/a", value: "2" }] },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch),
    );
    expect(patched.data).to.deep.equal({ a: "2" });
    const merged = await core.patchNamespacedConfigMap(
      { name: "one", namespace: NS, body: { data: { b: "3" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    expect(merged.data).to.deep.equal({ a: "2", b: "3" });
    await core.deleteNamespacedConfigMap({ name: "one", namespace: NS });
    const err = await core.readNamespacedConfigMap({ name: "one", namespace: NS }).then(() => undefined, (e: unknown) => e as k8s.ApiException<string>);
    expect(err?.code).to.equal(404);
    expect(JSON.parse(err!.body)).to.include({ kind: "Status", reason: "NotFound", message: 'configmaps "one" not found' });
  });

  it("streams ADDED, MODIFIED and DELETED to a Watch", async () => {
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const ctl = await watch.watch(`/api/v1/namespaces/${NS}/configmaps`, { labelSelector: "suite=client-node" }, (type, obj: k8s.V1ConfigMap) => seen.push(`${type} ${obj.metadata?.name}`), () => undefined);
    try {
      await core.createNamespacedConfigMap({ namespace: NS, body: cm("two", { a: "1" }) });
      await core.replaceNamespacedConfigMap({ name: "two", namespace: NS, body: cm("two", { a: "9" }) });
      await core.deleteNamespacedConfigMap({ name: "two", namespace: NS });
      await waitFor(() => seen.includes("DELETED two"), { what: "DELETED two" });
      expect(seen.filter((s) => s.endsWith(" two"))).to.deep.equal(["ADDED two", "MODIFIED two", "DELETED two"]);
    } finally {
      ctl.abort();
    }
  });

  it("feeds an informer with add, update and delete", async () => {
    const events: string[] = [];
    const path = `/api/v1/namespaces/${NS}/configmaps`;
    const informer = k8s.makeInformer(kc, path, () => core.listNamespacedConfigMap({ namespace: NS }));
    informer.on("add", (o: k8s.V1ConfigMap) => events.push(`add ${o.metadata?.name}`));
    informer.on("update", (o: k8s.V1ConfigMap) => events.push(`update ${o.metadata?.name} ${o.data?.a}`));
    informer.on("delete", (o: k8s.V1ConfigMap) => events.push(`delete ${o.metadata?.name}`));
    await core.createNamespacedConfigMap({ namespace: NS, body: cm("before", { a: "0" }) });
    await informer.start();
    try {
      await waitFor(() => events.includes("add before"), { what: "the listed object" });
      await core.createNamespacedConfigMap({ namespace: NS, body: cm("three", { a: "1" }) });
      await core.patchNamespacedConfigMap({ name: "three", namespace: NS, body: { data: { a: "2" } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch));
      await core.deleteNamespacedConfigMap({ name: "three", namespace: NS });
      await waitFor(() => events.includes("delete three"), { what: "delete three" });
      expect(events.filter((e) => e.includes("three"))).to.deep.equal(["add three", "update three 2", "delete three"]);
      expect(informer.list().map((o) => o.metadata?.name)).to.include("before").and.not.include("three");
    } finally {
      await informer.stop();
    }
  });
});
