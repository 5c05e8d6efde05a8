/**
 * Container behaviour through the real kubectl 1.32, on the docker and process engines: a
 * container's termination message (from its terminationMessagePath, or its log's tail with
 * FallbackToLogsOnError) in `state.terminated.message`; a container whose startupProbe keeps
 * failing is restarted; and on Docker a `hostNetwork: true` pod shares the node's network (it
 * reaches a listener on the node's loopback and its podIP is the node's address).
 */
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";
import { needEngineImages, BUSYBOX_IMAGE } from "../harness/images.ts";

for (const engine of ["docker", "process"] as const) {
  describe(`container behaviour through kubectl (${engine} engine)`, function () {
    this.timeout(120_000);
    let env: ApiEnv;
    const ns = `cb-${engine}`;
    const node = `cb-${engine}-node`;
    const image = engine === "docker" ? BUSYBOX_IMAGE : "busybox";
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
    const jsonpath = (pod: string, path: string) => ok(["get", "pod", pod, "-n", ns, "-o", `jsonpath={${path}}`]);

    before(async function () {
      await needEngineImages(this, engine);
      if (engine === "process" && process.getuid?.() !== 0) this.skip();
      env = await startApiEnv();
      await env.tc.startActors(withPodCleanup([{ def: ACTORS.kubelet!, opts: { nodeName: node, engine, dataDir: env.dir, backoffBaseMs: 200 } }]));
      await ok(["create", "namespace", ns]);
    });
    after(async () => {
      if (!env) return;
      await env.kubectl(["delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
      await env.stop();
    });

    it("reports what the container wrote to its terminationMessagePath as the terminated state's message", async () => {
      // A path of the pod's choosing (the default /dev/termination-log: specs/e2e/process-pod-user.spec.ts).
      const path = engine === "docker" ? "/dev/termination-log" : `/run/flotilla-tm-spec-${process.pid}/message`;
      const scratch = engine === "docker" ? "/scratch" : `/run/flotilla-tm-spec-${process.pid}/scratch`;
      await apply("msg.yaml", `apiVersion: v1
kind: Pod
metadata: {name: msg, namespace: ${ns}}
spec:
  nodeName: ${node}
  restartPolicy: Never
  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: main
    image: ${image}
    terminationMessagePath: ${path}
    command: ["sh", "-c", "echo 'all done: 42 widgets' > ${path}; echo not-this-one; exit 3"]
    volumeMounts: [{name: scratch, mountPath: ${scratch}}]
`);
      const msg = await waitFor(() => jsonpath("msg", ".status.containerStatuses[0].state.terminated.message"), { timeoutMs: 60_000, what: "the termination message" });
      expect(msg.trim()).to.equal("all done: 42 widgets");
      expect(await jsonpath("msg", ".status.containerStatuses[0].state.terminated.exitCode")).to.equal("3");
    });

    it("falls back to the log's tail for a failed container with FallbackToLogsOnError, and not for the File policy", async () => {
      const spec = (name: string, policy: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  nodeName: ${node}
  restartPolicy: Never
  containers:
  - name: main
    image: ${image}
    terminationMessagePolicy: ${policy}
    command: ["sh", "-c", "echo starting; echo 'fatal: disk on fire'; exit 1"]
`;
      await apply("fallback.yaml", spec("fallback", "FallbackToLogsOnError"));
      await apply("file.yaml", spec("file-only", "File"));
      const msg = await waitFor(() => jsonpath("fallback", ".status.containerStatuses[0].state.terminated.message"), { timeoutMs: 60_000, what: "the fallback message" });
      expect(msg).to.equal("starting\nfatal: disk on fire\n");
      await waitFor(() => jsonpath("file-only", ".status.containerStatuses[0].state.terminated.exitCode"), { timeoutMs: 60_000, what: "the File pod to end" });
      expect(await jsonpath("file-only", ".status.containerStatuses[0].state.terminated.message")).to.equal("");
    });

    it("restarts a container whose startup probe keeps failing, and never calls it started", async () => {
      await apply("startup.yaml", `apiVersion: v1
kind: Pod
metadata: {name: slow, namespace: ${ns}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: ["sleep", "3600"]
    startupProbe:
      exec: {command: ["test", "-f", "/nonexistent-${process.pid}"]}
      periodSeconds: 1
      failureThreshold: 2
`);
      await waitFor(async () => Number(await jsonpath("slow", ".status.containerStatuses[0].restartCount")) >= 1, { timeoutMs: 60_000, what: "a restart after the startup probe failed" });
      expect(await jsonpath("slow", ".status.containerStatuses[0].started")).to.equal("false");
      const events = await ok(["get", "events", "-n", ns, "--field-selector", "involvedObject.name=slow"]);
      expect(events).to.contain("failed startup probe, will be restarted");
      expect(events).to.contain("Startup probe failed");
    });

    if (engine === "docker") {
      describe("hostNetwork", () => {
        let server: Server;
        let port = 0;
        before(async () => {
          server = createServer((_req, res) => res.end("from-the-node"));
          await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
          port = (server.address() as AddressInfo).port;
        });
        after(() => new Promise<void>((r) => server.close(() => r())));

        it("shares the node's network: reaches the node's loopback and shows the node's address and hostname", async () => {
          await apply("hostnet.yaml", `apiVersion: v1
kind: Pod
metadata: {name: hostnet, namespace: ${ns}}
spec:
  nodeName: ${node}
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: ["sh", "-c", "echo host=$(hostname); wget -q -O- http://127.0.0.1:${port}/; echo; exec sleep 3600"]
`);
          const logs = await waitFor(async () => {
            const r = await env.kubectl(["logs", "hostnet", "-n", ns]);
            return r.code === 0 && r.stdout.includes("from-the-node") ? r.stdout : undefined;
          }, { timeoutMs: 60_000, what: "the node's listener answering the pod" });
          expect(logs).to.contain(`host=${hostname()}`);
          const ips = await waitFor(async () => {
            const [pod, host] = (await jsonpath("hostnet", ".status.podIP} {.status.hostIP")).split(" ");
            return pod ? [pod, host] : undefined;
          }, { what: "the pod's address" });
          expect(ips[0]).to.equal(ips[1]);
        });
      });
    }
  });
}
