/**
 * exec, cp, attach and port-forward as a user runs them with the real kubectl 1.32, on the docker and
 * process engines: kubectl speaks WebSockets to the api-server, which relays each session to the
 * pod's kubelet over NATS.
 */
import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { get as httpGet } from "node:http";
import { freePort } from "../../runtime/nats-server.ts";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";
import { needEngineImages, BUSYBOX_IMAGE } from "../harness/images.ts";

const pod = (ns: string, node: string, image: string) => `apiVersion: v1
kind: Pod
metadata: {name: box, namespace: ${ns}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: ${ns}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ${image}
    ports: [{containerPort: 80}]
    command: ["sh", "-c", "echo hello-from-pod > index.html && exec busybox httpd -f -p \${PORT:-80} -h ."]
`;

/** GET over plain HTTP to a loopback port. */
function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port, path: "/index.html", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

for (const engine of ["docker", "process"] as const) {
  describe(`kubectl exec, cp and attach (${engine} engine)`, function () {
    this.timeout(120_000);
    let env: ApiEnv;
    const ns = `ses-${engine}`;
    const node = `ses-${engine}-node`;
    const ok = async (args: string[], input?: string) => {
      const r = await env.kubectl(args, { timeoutMs: 60_000, input });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    };

    before(async function () {
      await needEngineImages(this, engine);
      env = await startApiEnv();
      await env.tc.startActors(withPodCleanup([{ def: ACTORS.kubelet!, opts: { nodeName: node, engine, dataDir: env.dir } }]));
      await ok(["create", "namespace", ns]);
      const f = join(env.dir, "pod.yaml");
      writeFileSync(f, pod(ns, node, BUSYBOX_IMAGE));
      await ok(["apply", "-f", f]);
      await ok(["wait", "--for=condition=Ready", "pod/box", "pod/web", "-n", ns, "--timeout=60s"]);
    });
    after(async () => {
      if (!env) return;
      await env.kubectl(["delete", "pod", "box", "web", "-n", ns, "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
      await env.stop();
    });

    it("prints a command's output and exits with its exit code", async () => {
      const r = await env.kubectl(["exec", "box", "-n", ns, "--", "sh", "-c", "echo hi; echo oops >&2; exit 3"]);
      expect(r.stdout).to.equal("hi\n");
      expect(r.stderr).to.contain("oops");
      expect(r.code).to.equal(3);
      const good = await env.kubectl(["exec", "box", "-n", ns, "--", "sh", "-c", "echo fine"]);
      expect([good.code, good.stdout]).to.deep.equal([0, "fine\n"]);
    });

    it("passes stdin through with -i and ends it at end of input", async () => {
      expect(await ok(["exec", "-i", "box", "-n", ns, "--", "sh", "-c", "tr a-z A-Z; echo done"], "hello\nworld\n")).to.equal("HELLO\nWORLD\ndone\n");
    });

    it("answers for a container that does not exist as kube-apiserver does", async () => {
      const r = await env.kubectl(["exec", "box", "-c", "nope", "-n", ns, "--", "true"]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain("container nope is not valid for pod box");
    });

    it("copies a file into the pod and back out with kubectl cp", async () => {
      const dir = join(env.dir, "cp");
      mkdirSync(dir, { recursive: true });
      const payload = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join("\n");
      writeFileSync(join(dir, "in.txt"), payload);
      // Process-engine pods cannot reach the kubelet's data dir: the file goes to the pod's working directory.
      const remote = engine === "docker" ? "/tmp/in.txt" : "remote-in.txt";
      await ok(["cp", join(dir, "in.txt"), `${ns}/box:${remote}`]);
      expect((await ok(["exec", "box", "-n", ns, "--", "sh", "-c", `wc -l < ${remote}`])).trim()).to.equal("4999");
      await ok(["cp", `${ns}/box:${remote}`, join(dir, "out.txt")]);
      expect(readFileSync(join(dir, "out.txt"), "utf8")).to.equal(payload);
    });

    it("forwards a local port to the pod's port with kubectl port-forward, for many requests", async () => {
      const port = await freePort();
      const bg = env.kubectlBackground(["port-forward", "pod/web", "-n", ns, `${port}:80`]);
      try {
        await waitFor(() => bg.output().includes("Forwarding from"), { timeoutMs: 30_000, what: "port-forward to listen" });
        for (let i = 0; i < 30; i++) expect(await get(port)).to.equal("hello-from-pod\n");
        const parallel = await Promise.all(Array.from({ length: 10 }, () => get(port)));
        expect(parallel.every((b) => b === "hello-from-pod\n")).to.equal(true);
      } finally {
        bg.stop();
      }
    });

    it("fails a pod that outlives its activeDeadlineSeconds with DeadlineExceeded and stops its container", async () => {
      const f = join(env.dir, "deadline.yaml");
      writeFileSync(f, `apiVersion: v1
kind: Pod
metadata: {name: deadline, namespace: ${ns}}
spec:
  nodeName: ${node}
  activeDeadlineSeconds: 2
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: ${BUSYBOX_IMAGE}, command: ["sleep", "3600"]}]
`);
      await ok(["apply", "-f", f]);
      await waitFor(async () => (await ok(["get", "pod", "deadline", "-n", ns, "-o", "jsonpath={.status.phase}/{.status.reason}"])) === "Failed/DeadlineExceeded", { timeoutMs: 30_000, what: "the pod to fail" });
      await waitFor(async () => (await ok(["get", "pod", "deadline", "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].state.terminated.reason}"])) !== "", { timeoutMs: 30_000, what: "the container to stop" });
      await ok(["delete", "pod", "deadline", "-n", ns, "--wait=true"]);
    });

    it("runs postStart after the container starts and preStop before it stops", async () => {
      const hostDir = join(env.dir, "hooks");
      // Written by the pod's (unprivileged) user; mounted outside the kubelet's data dir, which the pod cannot enter.
      mkdirSync(hostDir, { recursive: true, mode: 0o777 });
      chmodSync(hostDir, 0o777);
      const at = engine === "docker" ? "/hooks" : `/run/flotilla-hooks-spec-${process.pid}`;
      const f = join(env.dir, "hooks.yaml");
      writeFileSync(f, `apiVersion: v1
kind: Pod
metadata: {name: hooks, namespace: ${ns}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 5
  volumes: [{name: out, hostPath: {path: ${hostDir}}}]
  containers:
  - name: main
    image: ${BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    volumeMounts: [{name: out, mountPath: ${at}}]
    lifecycle:
      postStart: {exec: {command: ["sh", "-c", "echo started > ${at}/post-start"]}}
      preStop: {exec: {command: ["sh", "-c", "echo stopping > ${at}/pre-stop"]}}
`);
      await ok(["apply", "-f", f]);
      await ok(["wait", "--for=condition=Ready", "pod/hooks", "-n", ns, "--timeout=60s"]);
      await waitFor(() => existsSync(join(hostDir, "post-start")), { timeoutMs: 20_000, what: "the postStart hook's file" });
      expect(existsSync(join(hostDir, "pre-stop"))).to.equal(false);
      await ok(["delete", "pod", "hooks", "-n", ns, "--wait=true"]);
      expect(readFileSync(join(hostDir, "pre-stop"), "utf8")).to.equal("stopping\n");
    });

    it("attaches to the container's output", async () => {
      const bg = env.kubectlBackground(["attach", "box", "-n", ns]);
      try {
        await waitFor(() => /tick \d+/.test(bg.output()), { timeoutMs: 20_000, what: "attached output" });
      } finally {
        bg.stop();
      }
    });
  });
}
