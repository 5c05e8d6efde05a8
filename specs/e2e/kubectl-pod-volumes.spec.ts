/**
 * Pod volumes as a user sees them through the real kubectl, on the docker, process and cri engines: a
 * pod with configMap, secret, emptyDir, downwardAPI and projected volumes reads the expected files
 * (its log is `cat` of them), a ConfigMap update reaches the mounted file, and an emptyDir is shared
 * by two containers.
 */
import { expect } from "chai";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";
import { needEngineImages, BUSYBOX_IMAGE } from "../harness/images.ts";
import type { SpecContainerd } from "../harness/cri.ts";
import { specContainerd, criOpts } from "../harness/cri.ts";

const objects = (ns: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: ${ns}}
data: {greeting: hello, "app.conf": "port=80"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: ${ns}}
stringData: {password: s3cret}
`;

const pod = (ns: string, node: string, image: string, dir: string) => `apiVersion: v1
kind: Pod
metadata: {name: vols, namespace: ${ns}, labels: {app: vols, tier: web}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: cfg, configMap: {name: web}}
  - {name: sec, secret: {secretName: creds, defaultMode: 0400}}
  - {name: scratch, emptyDir: {}}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: mem, resourceFieldRef: {containerName: main, resource: limits.memory, divisor: 1Mi}}
  - name: all
    projected:
      sources:
      - configMap: {name: web, items: [{key: greeting, path: cm/greeting}]}
      - secret: {name: creds}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
  containers:
  - name: main
    image: ${image}
    resources: {limits: {memory: 64Mi}}
    command: ["sh", "-c"]
    args:
    - |
      echo "cfg=$(cat ${dir}/cfg/greeting) conf=$(cat ${dir}/cfg/app.conf)"
      echo "sec=$(cat ${dir}/sec/password) secmode=$(stat -L -c %a ${dir}/sec/password)"
      echo "labels=$(cat ${dir}/info/labels | tr '\\n' ' ')"
      echo "name=$(cat ${dir}/info/name) mem=$(cat ${dir}/info/mem)"
      echo "projected=$(cat ${dir}/all/cm/greeting)/$(cat ${dir}/all/password)/$(cat ${dir}/all/ns)"
      echo "layout=$(readlink ${dir}/cfg/greeting)"
      echo "sub=$(cat ${dir}/sub)"
      until [ -s ${dir}/scratch/from-side ]; do sleep 0.1; done
      echo "shared=$(cat ${dir}/scratch/from-side)"
      while :; do echo "now=$(cat ${dir}/cfg/greeting)"; sleep 0.2; done
    volumeMounts:
    - {name: cfg, mountPath: ${dir}/cfg}
    - {name: sec, mountPath: ${dir}/sec}
    - {name: scratch, mountPath: ${dir}/scratch}
    - {name: info, mountPath: ${dir}/info}
    - {name: all, mountPath: ${dir}/all}
    - {name: cfg, mountPath: ${dir}/sub, subPath: app.conf}
  - name: side
    image: ${image}
    command: ["sh", "-c", "echo written-by-side > ${dir}/scratch/from-side && exec sleep 3600"]
    volumeMounts:
    - {name: scratch, mountPath: ${dir}/scratch}
`;

for (const engine of ["docker", "process", "cri"] as const) {
  describe(`pod volumes through kubectl (${engine} engine)`, function () {
    this.timeout(120_000);
    let env: ApiEnv;
    let ctrd: SpecContainerd | undefined;
    const ns = `vol-${engine}`;
    const node = `vol-${engine}-node`;
    // The process engine runs host processes: mount paths are host paths inside the container's own mount namespace.
    const dir = engine === "process" ? `/run/flotilla-spec-${process.pid}` : "/v";
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

    before(async function () {
      await needEngineImages(this, engine);
      if (engine === "process" && process.getuid?.() !== 0) this.skip();
      if (engine === "cri") ctrd = await specContainerd(this, "10.88.251.0/24");
      env = await startApiEnv();
      await env.tc.startActors(withPodCleanup([{ def: ACTORS.kubelet!, opts: { nodeName: node, engine, dataDir: env.dir, ...criOpts(engine, ctrd) } }]));
      await ok(["create", "namespace", ns]);
    });
    after(async function () {
      this.timeout(120_000);
      if (env) {
        await env.kubectl(["delete", "pod", "vols", "-n", ns, "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
        await env.stop();
      }
      await ctrd?.stop();
    });

    it("shows the files of configMap, secret, downwardAPI, projected and emptyDir volumes to the containers", async () => {
      await apply("objects.yaml", objects(ns));
      await apply("pod.yaml", pod(ns, node, BUSYBOX_IMAGE, dir));
      const logs = await waitFor(async () => {
        const r = await env.kubectl(["logs", "vols", "-c", "main", "-n", ns]);
        return r.code === 0 && r.stdout.includes("now=") ? r.stdout : undefined;
      }, { timeoutMs: 60_000, what: "the pod's log" });
      expect(logs).to.contain("cfg=hello conf=port=80");
      expect(logs).to.contain("sec=s3cret secmode=400");
      expect(logs).to.contain('labels=app="vols" tier="web"');
      expect(logs).to.contain("name=vols mem=64");
      expect(logs).to.contain(`projected=hello/s3cret/${ns}`);
      expect(logs).to.contain("layout=..data/greeting");
      expect(logs).to.contain("sub=port=80");
      expect(logs).to.contain("shared=written-by-side");
    });

    it("keeps secret files unreadable to other users of the node and gives them the asked mode", async () => {
      // The cri engine has no exec sessions: the pod's log says the mode it saw.
      const out = engine === "cri" ? /secmode=(\d+)/.exec((await ok(["logs", "vols", "-c", "main", "-n", ns])))?.[1] ?? "" : await ok(["exec", "vols", "-c", "main", "-n", ns, "--", "sh", "-c", `stat -L -c %a ${dir}/sec/password`]);
      expect(out.trim()).to.equal("400");
      const root = join(env.dir, "kubelet", env.tc.cluster, node, "volumes");
      expect((statSync(root).mode & 0o777).toString(8)).to.equal("700");
    });

    it("rewrites a configMap volume's file when the ConfigMap changes", async () => {
      await ok(["patch", "configmap", "web", "-n", ns, "--type=merge", "-p", '{"data":{"greeting":"updated"}}']);
      await waitFor(async () => {
        const r = await env.kubectl(["logs", "vols", "-c", "main", "-n", ns, "--tail=1"]);
        return r.stdout.includes("now=updated");
      }, { timeoutMs: 30_000, what: "the updated greeting in the mounted file" });
    });
  });
}
