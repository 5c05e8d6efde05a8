/**
 * StatefulSet volumeClaimTemplates as a user sees them through the real kubectl 1.32 on the process
 * engine: each ordinal gets its own claim `data-web-N` from the default local-path class; a pod
 * deleted and re-created finds what it wrote; scaling down keeps the claim of the ordinal scaled
 * away (Retain) and scaling up again re-uses it; `whenScaled: Delete` removes it; deleting the set
 * under the default policy leaves the claims behind, under `whenDeleted: Delete` takes them along; a claim the API refuses (a quota) holds its
 * pod back and says why.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor } from "../harness/cluster.ts";

const statefulSet = (ns: string, dir: string) => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c"]
        args:
        - |
          if [ -f ${dir}/who ]; then echo "found $(cat ${dir}/who) as $HOSTNAME"; else echo "$HOSTNAME" > ${dir}/who; echo "wrote $HOSTNAME"; fi
          exec sleep 3600
        volumeMounts:
        - {name: data, mountPath: ${dir}}
  volumeClaimTemplates:
  - metadata: {name: data, labels: {tier: storage}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 32Mi}}
`;

const squash = (s: string) => s.trim().split("\n").map((l) => l.trim().split(/\s{2,}/));

describe("StatefulSet volumeClaimTemplates through kubectl (process engine)", function () {
  this.timeout(180_000);
  let env: ApiEnv;
  const ns = "sts-claims";
  const dir = `/run/flotilla-sts-spec-${process.pid}`;
  const ok = async (args: string[]) => {
    const r = await env.kubectl(args, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const uidOf = async (pod: string) => (await env.kubectl(["get", "pod", pod, "-n", ns, "-o", "jsonpath={.metadata.uid}"])).stdout.trim();
  /** The log of the pod `name` whose uid is not `not`, once it contains `what`. */
  const logOf = (name: string, what: string, not = "") =>
    waitFor(async () => {
      if (not && (await uidOf(name)) === not) return undefined;
      const r = await env.kubectl(["logs", name, "-n", ns]);
      return r.code === 0 && r.stdout.includes(what) ? r.stdout.trim() : undefined;
    }, { timeoutMs: 90_000, what: `"${what}" in the log of ${name}` });
  const gone = (args: string[], what: string) =>
    waitFor(async () => {
      const r = await env.kubectl(["get", ...args, "-n", ns]);
      return r.code !== 0 && r.stderr.includes("NotFound");
    }, { timeoutMs: 60_000, what });
  const claimRows = async () => squash(await ok(["get", "pvc", "-n", ns])).slice(1).map((r) => r.slice(0, 2).join(" ")).sort();

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startApiEnv();
    await env.tc.startActors([
      { def: ACTORS.scheduler! },
      { def: ACTORS["pv-controller"]! },
      { def: ACTORS["statefulset-controller"]! },
      { def: ACTORS["garbage-collector"]! },
      { def: ACTORS["quota-controller"]! },
      { def: ACTORS.kubelet!, opts: { nodeName: "sts-node", engine: "process", dataDir: env.dir, capacity: { cpu: "4", memory: "4Gi" }, backoffBaseMs: 200 } },
    ]);
    await ok(["create", "namespace", ns]);
  });
  after(async () => {
    if (!env) return;
    await env.kubectl(["delete", "statefulset", "--all", "-n", ns, "--wait=true"]).catch(() => undefined);
    await env.kubectl(["delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
    await env.stop();
  });

  it("gives each ordinal its own claim data-web-N, bound, and each pod writes its name into its own volume", async () => {
    const f = join(env.dir, "web.yaml");
    writeFileSync(f, statefulSet(ns, dir));
    await ok(["apply", "-f", f]);
    expect(await logOf("web-0", "wrote web-0")).to.equal("wrote web-0");
    expect(await logOf("web-1", "wrote web-1")).to.equal("wrote web-1");
    const rows = squash(await ok(["get", "pvc", "-n", ns]));
    expect(rows[0]!.slice(0, 6)).to.deep.equal(["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS"]);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[3], r[4], r[5]]).sort()).to.deep.equal([
      ["data-web-0", "Bound", "32Mi", "RWO", "local-path"],
      ["data-web-1", "Bound", "32Mi", "RWO", "local-path"],
    ]);
    expect(await ok(["get", "pvc", "data-web-1", "-n", ns, "-o", "jsonpath={.metadata.labels}"])).to.equal('{"app":"web","tier":"storage"}');
    expect(await ok(["get", "pod", "web-1", "-n", ns, "-o", "jsonpath={.spec.volumes[?(@.name==\"data\")].persistentVolumeClaim.claimName}"])).to.equal("data-web-1");
    const described = await ok(["describe", "statefulset", "web", "-n", ns]);
    expect(described).to.match(/Volume Claims:\s+Name:\s+data\b[\s\S]*Capacity:\s+32Mi[\s\S]*Access Modes:\s+\[ReadWriteOnce\]/);
    expect(described).to.match(/SuccessfulCreate\s.*create Claim data-web-1 Pod web-1 in StatefulSet web success/);
  });

  it("re-creates a deleted pod on its claim, where it reads what the old pod wrote", async () => {
    const old = await uidOf("web-0");
    // The controller makes web-0 again once the old one is gone: wait for a pod of another uid.
    await ok(["delete", "pod", "web-0", "-n", ns, "--wait=false"]);
    expect(await logOf("web-0", "found", old)).to.equal("found web-0 as web-0");
  });

  it("keeps the claim of an ordinal scaled away (Retain), and a scale-up re-uses it", async () => {
    await ok(["scale", "statefulset", "web", "-n", ns, "--replicas=1"]);
    await gone(["pod", "web-1"], "web-1 to be deleted");
    expect(await claimRows()).to.deep.equal(["data-web-0 Bound", "data-web-1 Bound"]);
    expect(await ok(["get", "pvc", "data-web-1", "-n", ns, "-o", "jsonpath={.metadata.ownerReferences}"])).to.equal("", "nothing owns a retained claim");
    await ok(["scale", "statefulset", "web", "-n", ns, "--replicas=2"]);
    expect(await logOf("web-1", "found")).to.equal("found web-1 as web-1");
  });

  it("deletes the claim of an ordinal scaled away once whenScaled is Delete", async () => {
    await ok(["patch", "statefulset", "web", "-n", ns, "--type=merge", "-p", '{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete"}}}']);
    await ok(["scale", "statefulset", "web", "-n", ns, "--replicas=1"]);
    await gone(["pod", "web-1"], "web-1 to be deleted");
    await gone(["pvc", "data-web-1"], "data-web-1 to be deleted with its pod");
    expect(await claimRows()).to.deep.equal(["data-web-0 Bound"]);
  });

  it("leaves the claims behind when the StatefulSet is deleted (whenDeleted: Retain)", async () => {
    await ok(["delete", "statefulset", "web", "-n", ns, "--wait=true"]);
    await gone(["pod", "web-0"], "web-0 to be deleted with its set");
    expect(await claimRows()).to.deep.equal(["data-web-0 Bound"]);
    expect(await ok(["get", "pvc", "data-web-0", "-n", ns, "-o", "jsonpath={.metadata.ownerReferences}"])).to.equal("");
  });

  it("deletes the claims with the StatefulSet when whenDeleted is Delete", async () => {
    const f = join(env.dir, "gone.yaml");
    const yaml = statefulSet(ns, dir)
      .replace(/\bweb\b/g, "gone")
      .replace("replicas: 2", "replicas: 1")
      .replace("  volumeClaimTemplates:", "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}\n  volumeClaimTemplates:");
    writeFileSync(f, yaml);
    await ok(["apply", "-f", f]);
    expect(await logOf("gone-0", "wrote gone-0")).to.equal("wrote gone-0");
    expect(await ok(["get", "pvc", "data-gone-0", "-n", ns, "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}"])).to.equal("StatefulSet/gone");
    await ok(["delete", "statefulset", "gone", "-n", ns, "--wait=true"]);
    await gone(["pvc", "data-gone-0"], "data-gone-0 to be deleted with its set");
    expect(await claimRows()).to.deep.equal(["data-web-0 Bound"]);
  });

  it("creates no pod whose claim the API refuses, and says why on the StatefulSet", async () => {
    const f = join(env.dir, "quota.yaml");
    writeFileSync(f, `apiVersion: v1
kind: ResourceQuota
metadata: {name: one-claim, namespace: ${ns}}
spec: {hard: {persistentvolumeclaims: "1"}}
---
${statefulSet(ns, dir).replace(/\bweb\b/g, "quota")}`);
    await ok(["apply", "-f", f]);
    const events = await waitFor(async () => {
      const out = await ok(["get", "events", "-n", ns, "--field-selector", "involvedObject.name=quota"]);
      return out.includes("create Claim data-quota-0 for Pod quota-0 in StatefulSet quota failed") ? out : undefined;
    }, { timeoutMs: 60_000, what: "the FailedCreate event of the refused claim" });
    expect(events).to.include("exceeded quota");
    expect((await env.kubectl(["get", "pod", "quota-0", "-n", ns])).stderr).to.include("NotFound");
  });
});
