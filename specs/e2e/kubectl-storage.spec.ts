/**
 * Persistent storage as a user sees it through the real kubectl 1.32, on the docker, process and
 * cri engines: the default `local-path` StorageClass, a claim that waits for its first consumer, is
 * provisioned on the node the scheduler picked and bound; its data survives a container restart
 * and the pod being deleted and created again (which the volume's node affinity sends back to the
 * same node, although the scheduler's scores prefer the other one); `kubectl get pv,pvc,sc` prints
 * Kubernetes' columns; deleting the claim deletes the volume and its directory (reclaimPolicy
 * Delete), or leaves it Released with its data (a class with reclaimPolicy Retain).
 */
import { expect } from "chai";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";
import { needEngineImages, BUSYBOX_IMAGE } from "../harness/images.ts";
import type { SpecContainerd } from "../harness/cri.ts";
import { specContainerd, criOpts } from "../harness/cri.ts";

const claim = (ns: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: ${ns}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
`;

/** Appends a line per run; the first run exits 1 (a restart), later runs stay up. */
const pod = (ns: string, name: string, image: string, dir: string, extra = "") => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1
  ${extra}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  containers:
  - name: main
    image: ${image}
    command: ["sh", "-c"]
    args:
    - |
      echo "${name}" >> ${dir}/log
      echo "runs=$(wc -l < ${dir}/log) lines=$(tr '\\n' ' ' < ${dir}/log)"
      [ "$(wc -l < ${dir}/log)" -lt 2 ] && exit 1
      exec sleep 3600
    volumeMounts:
    - {name: data, mountPath: ${dir}}
`;

const filler = (ns: string, node: string, image: string) => `apiVersion: v1
kind: Pod
metadata: {name: filler, namespace: ${ns}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: ${image}, command: ["sleep", "3600"], resources: {requests: {cpu: 1500m, memory: 1Gi}}}
`;

const squash = (s: string) => s.trim().split("\n").map((l) => l.trim().split(/\s{2,}/));

for (const engine of ["docker", "process", "cri"] as const) {
  describe(`persistent volumes through kubectl (${engine} engine)`, function () {
    this.timeout(180_000);
    let env: ApiEnv;
    let ctrd: SpecContainerd | undefined;
    const ns = `pv-${engine}`;
    const nodes = [`pv-${engine}-a`, `pv-${engine}-b`];
    const dir = engine === "process" ? `/run/flotilla-pv-spec-${process.pid}` : "/data";
    const image = engine === "process" ? "busybox" : BUSYBOX_IMAGE;
    let pvNode = "";
    let pvName = "";
    const ok = async (args: string[]) => {
      const r = await env.kubectl(args, { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    };
    const apply = async (name: string, text: string) => {
      const f = join(env.dir, name);
      writeFileSync(f, text);
      return ok(["apply", "-f", f]);
    };
    const logsOf = (name: string, what: string) =>
      waitFor(async () => {
        const r = await env.kubectl(["logs", name, "-n", ns]);
        return r.code === 0 && r.stdout.includes(what) ? r.stdout : undefined;
      }, { timeoutMs: 60_000, what: `${what} in the log of ${name}` });

    before(async function () {
      await needEngineImages(this, engine);
      if (engine === "process" && process.getuid?.() !== 0) this.skip();
      // Both nodes' kubelets share one containerd; each touches only its own pods.
      if (engine === "cri") ctrd = await specContainerd(this, "10.88.252.0/24");
      env = await startApiEnv();
      await env.tc.startActors(
        withPodCleanup([
          { def: ACTORS.scheduler! },
          { def: ACTORS["pv-controller"]! },
          ...nodes.map((n) => ({ def: ACTORS.kubelet!, opts: { nodeName: n, engine, dataDir: env.dir, ...criOpts(engine, ctrd), capacity: { cpu: "2", memory: "4Gi" }, backoffBaseMs: 200 } })),
        ]),
      );
      await ok(["create", "namespace", ns]);
    });
    after(async function () {
      this.timeout(120_000);
      if (env) {
        await env.kubectl(["delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
        await env.stop();
      }
      await ctrd?.stop();
    });

    it("has a default local-path StorageClass, printed as Kubernetes prints it", async () => {
      const rows = squash(await waitFor(() => ok(["get", "storageclass"]).then((o) => (o.includes("local-path") ? o : undefined)), { what: "the local-path class" }));
      expect(rows[0]).to.deep.equal(["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]);
      expect(rows[1]!.slice(0, 5)).to.deep.equal(["local-path (default)", "flotilla.io/local-path", "Delete", "WaitForFirstConsumer", "false"]);
    });

    it("keeps a claim Pending with the default class until a pod uses it", async () => {
      await apply("claim.yaml", claim(ns));
      const rows = squash(await waitFor(() => ok(["get", "pvc", "-n", ns]).then((o) => (o.includes("local-path") ? o : undefined)), { what: "the default class on the claim" }));
      expect(rows[0]).to.deep.equal(["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]);
      expect(rows[1]!.slice(0, 4)).to.deep.equal(["data", "Pending", "local-path", "<unset>"]);
      const events = await waitFor(() => ok(["get", "events", "-n", ns, "--field-selector", "involvedObject.name=data"]).then((o) => (o.includes("WaitForFirstConsumer") ? o : undefined)), { what: "the WaitForFirstConsumer event" });
      expect(events).to.contain("waiting for first consumer to be created before binding");
    });

    it("provisions a volume on the scheduled node, binds it, and keeps the data across a container restart", async () => {
      await apply("writer.yaml", pod(ns, "writer", image, dir));
      // The first run exits 1; the restarted container finds the first run's line.
      expect(await logsOf("writer", "runs=2")).to.contain("lines=writer writer");
      pvNode = (await ok(["get", "pod", "writer", "-n", ns, "-o", "jsonpath={.spec.nodeName}"])).trim();
      expect(nodes).to.include(pvNode);
      expect(await ok(["get", "pvc", "data", "-n", ns, "-o", "jsonpath={.metadata.annotations.volume\\.kubernetes\\.io/selected-node}"])).to.equal(pvNode);
      const uid = (await ok(["get", "pvc", "data", "-n", ns, "-o", "jsonpath={.metadata.uid}"])).trim();
      pvName = `pvc-${uid}`;

      const pvc = squash(await ok(["get", "pvc", "-n", ns]));
      expect(pvc[1]!.slice(0, 7)).to.deep.equal(["data", "Bound", pvName, "64Mi", "RWO", "local-path", "<unset>"]);
      const pv = squash(await ok(["get", "pv"]));
      expect(pv[0]).to.deep.equal(["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]);
      // REASON is empty: the age follows <unset> directly.
      expect(pv[1]!.slice(0, 8)).to.deep.equal([pvName, "64Mi", "RWO", "Delete", "Bound", `${ns}/data`, "local-path", "<unset>"]);
      const affinity = await ok(["get", "pv", pvName, "-o", "jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}"]);
      expect(affinity).to.equal(pvNode);
      const path = await ok(["get", "pv", pvName, "-o", "jsonpath={.spec.hostPath.path}"]);
      expect(path).to.equal(join(env.dir, "storage", env.tc.cluster, pvNode, `${pvName}_${ns}_data`));
      expect(existsSync(join(path, "log"))).to.equal(true);
    });

    it("lists pv, pvc and sc together", async () => {
      const out = await ok(["get", "pv,pvc,sc", "-n", ns]);
      expect(out).to.match(new RegExp(`persistentvolume/${pvName}\\s+64Mi\\s+RWO\\s+Delete\\s+Bound\\s+${ns}/data\\s+local-path`));
      expect(out).to.match(new RegExp(`persistentvolumeclaim/data\\s+Bound\\s+${pvName}\\s+64Mi\\s+RWO\\s+local-path`));
      expect(out).to.match(/storageclass\.storage\.k8s\.io\/local-path \(default\)\s+flotilla\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false/);
    });

    it("sends a re-created pod back to the volume's node, where it finds the data", async () => {
      await ok(["delete", "pod", "writer", "-n", ns, "--wait=true"]);
      // The volume's node now has less room than the other: only the volume's node affinity takes the pod there.
      await apply("filler.yaml", filler(ns, pvNode, image));
      await apply("reader.yaml", pod(ns, "reader", image, dir));
      expect(await logsOf("reader", "runs=3")).to.contain("lines=writer writer reader");
      expect((await ok(["get", "pod", "reader", "-n", ns, "-o", "jsonpath={.spec.nodeName}"])).trim()).to.equal(pvNode);
    });

    it("deletes the volume and its directory once the claim is gone (reclaimPolicy Delete)", async () => {
      const path = await ok(["get", "pv", pvName, "-o", "jsonpath={.spec.hostPath.path}"]);
      await ok(["delete", "pod", "reader", "-n", ns, "--wait=true"]);
      await ok(["delete", "pvc", "data", "-n", ns, "--wait=true"]);
      await waitFor(async () => {
        const r = await env.kubectl(["get", "pv", pvName]);
        return r.code !== 0 && r.stderr.includes("NotFound");
      }, { timeoutMs: 30_000, what: "the released volume to be deleted" });
      expect(existsSync(path)).to.equal(false);
    });

    it("keeps a Released volume and its data when its class says Retain", async () => {
      await apply("retain.yaml", `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: flotilla.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
---
${claim(ns).replace("accessModes", "storageClassName: keep\n  accessModes")}`);
      await apply("keeper.yaml", pod(ns, "keeper", image, dir));
      await logsOf("keeper", "runs=2");
      const name = (await ok(["get", "pvc", "data", "-n", ns, "-o", "jsonpath={.spec.volumeName}"])).trim();
      const path = await ok(["get", "pv", name, "-o", "jsonpath={.spec.hostPath.path}"]);
      await ok(["delete", "pod", "keeper", "-n", ns, "--wait=true"]);
      await ok(["delete", "pvc", "data", "-n", ns, "--wait=true"]);
      const row = await waitFor(async () => {
        const out = await ok(["get", "pv", name, "--no-headers"]);
        return out.includes("Released") ? out : undefined;
      }, { timeoutMs: 30_000, what: "the volume to be Released" });
      expect(squash(row)[0]!.slice(0, 7)).to.deep.equal([name, "64Mi", "RWO", "Retain", "Released", `${ns}/data`, "keep"]);
      expect(existsSync(join(path, "log"))).to.equal(true);
    });
  });
}
