/** The CLI's pure parts: rollout verdicts, undo patches, manifests, tables, targets, the event feed, kubeconfigs. */
import type { Deployment, ReplicaSet } from "../../bus/resources.ts";
import type { Table } from "../../actors/api-server/tables.ts";
import { expect } from "chai";
import { rolloutStatus, undoPatch } from "../../cli/cmd-rollout.ts";
import { parseManifests, manifestError } from "../../cli/manifests.ts";
import { formatTable } from "../../cli/print.ts";
import { feedLine, matches, parseFor } from "../../cli/cmd-events.ts";
import { selectorString } from "../../cli/cmd-logs.ts";
import { parseTargets, natsTarget } from "../../cli/context.ts";
import { loadKubeconfig } from "../../cli/http.ts";
import { kubeconfigYaml } from "../../actors/api-server/kubeconfig.ts";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const deploy = (o: { gen?: number; observed?: number; replicas?: number; updated?: number; total?: number; available?: number; reason?: string }): Deployment =>
  ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", generation: o.gen ?? 2, annotations: { "deployment.kubernetes.io/revision": "2", "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
    spec: { replicas: o.replicas ?? 3, selector: { matchLabels: { app: "web" } }, template: { spec: { containers: [] } } },
    status: {
      observedGeneration: o.observed ?? 2,
      updatedReplicas: o.updated ?? 3,
      replicas: o.total ?? 3,
      availableReplicas: o.available ?? 3,
      conditions: o.reason ? [{ type: "Progressing", status: "False", reason: o.reason }] : [],
    },
  }) as unknown as Deployment;

describe("cli rollout status", function () {
  it("waits while the controller has not observed the new generation", function () {
    expect(rolloutStatus(deploy({ gen: 3, observed: 2 }))).to.deep.equal({ done: false, message: "Waiting for deployment spec update to be observed..." });
  });
  it("counts updated, old and available replicas as kubectl does", function () {
    expect(rolloutStatus(deploy({ updated: 1 })).message).to.equal('Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...');
    expect(rolloutStatus(deploy({ total: 5 })).message).to.equal('Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...');
    expect(rolloutStatus(deploy({ available: 2 })).message).to.equal('Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...');
    expect(rolloutStatus(deploy({}))).to.deep.equal({ done: true, message: 'deployment "web" successfully rolled out' });
  });
  it("fails when the progress deadline is exceeded", function () {
    expect(rolloutStatus(deploy({ updated: 1, reason: "ProgressDeadlineExceeded" }))).to.include({ done: true, failed: true });
  });
});

describe("cli rollout undo", function () {
  it("patches the revision's template without its pod-template-hash and keeps the deployment's own annotations", function () {
    const rs = {
      metadata: { name: "web-1", annotations: { "deployment.kubernetes.io/revision": "1", "kubernetes.io/change-cause": "v1" } },
      spec: { template: { metadata: { labels: { app: "web", "pod-template-hash": "abc" } }, spec: { containers: [{ name: "c", image: "v1" }] } } },
    } as unknown as ReplicaSet;
    const [tmpl, ann] = undoPatch(deploy({}), rs);
    expect(tmpl).to.deep.equal({ op: "replace", path: "/spec/template", value: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "v1" }] } } });
    expect(ann!.value).to.deep.equal({ "deployment.kubernetes.io/revision": "2", "kubectl.kubernetes.io/last-applied-configuration": "{}", "kubernetes.io/change-cause": "v1" });
    expect(rs.spec.template.metadata!.labels!["pod-template-hash"]).to.equal("abc");
  });
});

describe("cli manifests", function () {
  it("reads multi-document YAML and List objects, skipping empty documents", function () {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: b}}\n";
    const ms = parseManifests(text, "x.yaml");
    expect(ms.map((m) => [m.index, m.rt.resource, m.object.metadata.name])).to.deep.equal([
      [0, "configmaps", "a"],
      [2, "services", "b"],
    ]);
  });
  it("names the file, document and field of a local mistake", function () {
    expect(() => parseManifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "m.yaml")).to.throw("m.yaml: document 1: field metadata.name: Required value");
    expect(() => parseManifests("apiVersion: v1\nkind: Deployment\nmetadata: {name: a}\n", "m.yaml")).to.throw("m.yaml: document 0: field apiVersion: kind Deployment is served as apps/v1");
    expect(() => parseManifests("kind: [\n", "m.yaml")).to.throw("m.yaml: document 0: invalid YAML");
  });
  it("turns the server's Status causes into one line per field", function () {
    const [m] = parseManifests("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\n", "d.yaml");
    const text = manifestError(m!, { message: "invalid", details: { causes: [{ field: "spec.replicas", message: "must be greater than or equal to 0" }] } });
    expect(text).to.equal("d.yaml: document 0 (Deployment w): field spec.replicas: must be greater than or equal to 0");
  });
});

describe("cli tables", function () {
  const table: Table = {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: {},
    columnDefinitions: [
      { name: "Name", type: "string", format: "name", description: "", priority: 0 },
      { name: "Ready", type: "string", format: "", description: "", priority: 0 },
      { name: "IP", type: "string", format: "", description: "", priority: 1 },
    ],
    rows: [
      { cells: ["web-abc", "1/1", "127.0.0.1"], object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: { name: "web-abc", namespace: "default" } } },
      { cells: ["b", "0/1", "<none>"], object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: { name: "b", namespace: "kube-system" } } },
    ],
  };
  it("prints priority-0 columns aligned like kubectl, and wide columns with -o wide", function () {
    expect(formatTable(table)).to.equal("NAME      READY\nweb-abc   1/1\nb         0/1\n");
    expect(formatTable(table, { wide: true, withNamespace: true })).to.equal("NAMESPACE     NAME      READY   IP\ndefault       web-abc   1/1     127.0.0.1\nkube-system   b         0/1     <none>\n");
  });
  it("prints nothing for an empty list", function () {
    expect(formatTable({ ...table, rows: [] })).to.equal("");
  });
});

describe("cli targets and selectors", function () {
  it("parses TYPE NAME, TYPE,TYPE and TYPE/NAME forms with short names", function () {
    expect(parseTargets(["deploy", "web"]).map((t) => [t.rt.resource, t.names])).to.deep.equal([["deployments", ["web"]]]);
    expect(parseTargets(["po,svc"]).map((t) => t.rt.resource)).to.deep.equal(["pods", "services"]);
    expect(parseTargets(["deploy/web", "svc/web", "deploy/api"]).map((t) => [t.rt.resource, t.names])).to.deep.equal([
      ["deployments", ["web", "api"]],
      ["services", ["web"]],
    ]);
    expect(() => parseTargets(["widgets"])).to.throw('resource type "widgets"');
  });
  it("writes label selectors in the API's query form", function () {
    expect(selectorString({ matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }, { key: "x", operator: "DoesNotExist" }] })).to.equal("app=web,tier in (a,b),!x");
    expect(selectorString({ app: "web" })).to.equal("app=web");
  });
});

describe("cli events feed", function () {
  const t = new Date("2026-01-01T00:00:00Z");
  it("prints revision, time, operation and where, plus reason and message for Events", function () {
    expect(feedLine({ bucket: "main", revision: 42, time: t, op: "DEL", key: "pods.default.web-1" })).to.equal("42       2026-01-01T00:00:00.000Z DEL pods/default/web-1");
    const ev = { apiVersion: "v1", kind: "Event", metadata: { name: "e" }, involvedObject: { kind: "Pod", name: "web-1" }, reason: "Killing", message: "Stopping container web", type: "Normal" };
    expect(feedLine({ bucket: "events", revision: 7, time: t, op: "PUT", key: "events.default.e", object: ev })).to.equal(
      "ev:7     2026-01-01T00:00:00.000Z PUT events/default/e  Normal Killing: Stopping container web (Pod/web-1)",
    );
  });
  it("keeps Lease renewals out unless asked, and follows one object and the Events about it with --for", function () {
    const lease = { bucket: "leases" as const, revision: 1, time: t, op: "PUT" as const, key: "leases.kube-node-lease.n1" };
    expect(matches(parseFor(undefined), lease)).to.equal(false);
    expect(matches(parseFor(undefined, true), lease)).to.equal(true);
    const f = parseFor("pod/web-1");
    expect(matches(f, { bucket: "main", revision: 2, time: t, op: "PUT", key: "pods.default.web-1" })).to.equal(true);
    expect(matches(f, { bucket: "main", revision: 3, time: t, op: "PUT", key: "pods.default.web-2" })).to.equal(false);
    const about = { apiVersion: "v1", kind: "Event", metadata: { name: "e" }, involvedObject: { kind: "Pod", name: "web-1" } };
    expect(matches(f, { bucket: "events", revision: 4, time: t, op: "PUT", key: "events.default.e", object: about })).to.equal(true);
  });
});

describe("cli kubeconfig", function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "flotilla-kc-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("reads where the selected cluster's NATS is from the flotilla.io/nats extension", function () {
    const p = write("a", kubeconfigYaml({ server: "https://127.0.0.1:7443", caPem: "CA", token: "t", nats: { url: "nats://127.0.0.1:4333", cluster: "blue", dataDir: "/srv/blue" } }));
    expect(loadKubeconfig(p).nats).to.deep.equal({ url: "nats://127.0.0.1:4333", cluster: "blue", dataDir: "/srv/blue" });
    expect(natsTarget({ kubeconfig: p, dataDir: dir })).to.deep.equal({ url: "nats://127.0.0.1:4333", cluster: "blue" });
    expect(natsTarget({ kubeconfig: p, dataDir: dir, nats: "nats://127.0.0.1:1", cluster: "red" })).to.deep.equal({ url: "nats://127.0.0.1:1", cluster: "red" });
    const plain = write("plain", kubeconfigYaml({ server: "https://127.0.0.1:7443", caPem: "CA", token: "t" }));
    expect(loadKubeconfig(plain).nats).to.equal(undefined);
    expect(() => natsTarget({ kubeconfig: plain, dataDir: dir })).to.throw(/does not say where NATS is/);
  });

  it("uses the data dir's admin credentials with --nats, as `flotilla status` does for its actor list", function () {
    const d = mkdtempSync(join(tmpdir(), "flotilla-creds-"));
    try {
      mkdirSync(join(d, "credentials"));
      writeFileSync(join(d, "credentials", "admin.json"), JSON.stringify({ user: "admin", password: "p" }));
      expect(natsTarget({ nats: "nats://127.0.0.2:4222", dataDir: d })).to.deep.equal({ url: "nats://127.0.0.2:4222", cluster: "default", creds: join(d, "credentials", "admin.json") });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("merges a KUBECONFIG list as kubectl does: the first current-context and the first entry of a name win", function () {
    const first = write("first", "apiVersion: v1\nkind: Config\ncurrent-context: green\ncontexts: []\n");
    const second = write("second", kubeconfigYaml({ server: "https://127.0.0.1:7443", caPem: "CA", token: "t", name: "blue", nats: { url: "nats://127.0.0.1:4333", cluster: "blue" } }));
    const third = write("third", kubeconfigYaml({ server: "https://127.0.0.1:8443", caPem: "CA", token: "t2", name: "green", nats: { url: "nats://127.0.0.1:4444", cluster: "green" } }));
    const kc = loadKubeconfig([first, join(dir, "missing"), second, third].join(":"));
    expect(kc.server).to.equal("https://127.0.0.1:8443");
    expect(kc.token).to.equal("t2");
    expect(kc.nats?.cluster).to.equal("green");
  });
});
