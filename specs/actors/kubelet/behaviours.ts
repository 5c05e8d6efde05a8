/**
 * Kubelet behaviours shared by the engine integration specs (process, docker): the same pods, the
 * same expectations; only how a shell command becomes a container differs (`Flavor`).
 */
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInbox } from "@nats-io/transport-node";
import type { Pod, Container, Event, Lease } from "../../../bus/resources.ts";
import type { LogFrame, KubeletRequest } from "../../../bus/kubelet-protocol.ts";
import type { TestCluster } from "../../harness/cluster.ts";
import type { Host } from "../../../runtime/host.ts";
import { logCancelSubject } from "../../../bus/kubelet-protocol.ts";
import { subjects } from "../../../bus/subjects.ts";
import { encode, decode } from "../../../bus/codec.ts";
import { waitFor } from "../../harness/cluster.ts";
import { kubelet } from "../../../actors/kubelet/index.ts";
import type { KubeletOptions } from "../../../actors/kubelet/index.ts";

export interface Flavor {
  engine: "process" | "docker" | "cri";
  /** A container that runs `script` with sh; `port` is the port the script should listen on. */
  sh(name: string, script: string, extra?: Partial<Container>): Container;
  /** Is the container (by engine id) still running on the machine? */
  isRunning(containerId: string): Promise<boolean>;
  kubeletOpts?: Partial<KubeletOptions>;
}

/** Is a host process alive (process-engine specs)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills every process group a process-engine kubelet left under `dataDir` (spec teardown). */
export function killProcessContainers(dataDir: string): void {
  const root = join(dataDir, "kubelet");
  if (!existsSync(root)) return;
  for (const cluster of readdirSync(root)) {
    for (const node of readdirSync(join(root, cluster))) {
      const dir = join(root, cluster, node, "containers");
      if (!existsSync(dir)) continue;
      for (const id of readdirSync(dir)) {
        try {
          const { pid } = JSON.parse(readFileSync(join(dir, id, "meta.json"), "utf8")) as { pid: number };
          process.kill(-pid, "SIGKILL");
        } catch {
          /* gone already */
        }
      }
    }
  }
}

let n = 0;
export function podOf(node: string, containers: Container[], spec: Partial<Pod["spec"]> = {}): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: `p${++n}-${Date.now().toString(36)}`, namespace: "default" }, spec: { nodeName: node, containers, terminationGracePeriodSeconds: 5, ...spec } };
}

export async function getPod(c: TestCluster, p: Pod): Promise<Pod> {
  return c.store.get<Pod>("pods", "default", p.metadata.name!);
}

export async function waitPod(c: TestCluster, p: Pod, pred: (p: Pod) => boolean, what: string, timeoutMs = 15_000): Promise<Pod> {
  return waitFor(async () => {
    const cur = await getPod(c, p);
    return pred(cur) ? cur : undefined;
  }, { timeoutMs, what });
}

export const running = (p: Pod) => p.status?.phase === "Running" && (p.status.containerStatuses ?? []).every((s) => !!s.state?.running);
const idOf = (containerID: string | undefined) => (containerID ?? "").replace(/^[a-z]+:\/\//, "");

/** Reads a container's logs over the kubelet's NATS protocol; stops a follow after `untilText`. */
export async function readLogs(c: TestCluster, node: string, req: Omit<Extract<KubeletRequest, { type: "logs" }>, "type">, untilText?: string): Promise<string> {
  const inbox = createInbox();
  let text = "";
  const done = new Promise<void>((resolve, reject) => {
    const sub = c.nc.subscribe(inbox, {
      callback: (_e, m) => {
        const f = decode<LogFrame>(m.data);
        if (f.type === "data") {
          text += f.data;
          if (untilText && text.includes(untilText)) c.nc.publish(logCancelSubject(inbox), encode({}));
        } else {
          sub.unsubscribe();
          if (f.type === "error") reject(new Error(f.error.message));
          else resolve();
        }
      },
    });
  });
  await c.nc.flush();
  c.nc.publish(subjects(c.cluster).nodeVerb(node, "logs"), encode({ type: "logs", ...req }), { reply: inbox });
  await done;
  return text;
}

async function events(c: TestCluster, p: Pod): Promise<Event[]> {
  const list = await c.store.list<Event>("events", "default");
  return list.items.filter((e) => e.involvedObject.name === p.metadata.name);
}

/** Waits for the three pods of the restartPolicy behaviour and returns what they ended as. */
export async function checkRestartPolicies(c: TestCluster, never: Pod, done: Pod, retried: Pod): Promise<Pod[]> {
  const restarts = (p: Pod) => p.status?.containerStatuses?.[0]?.restartCount ?? 0;
  const r = await waitPod(c, retried, (p) => restarts(p) >= 1, "the OnFailure pod restarted", 30_000);
  const n = await waitPod(c, never, (p) => p.status?.phase === "Failed", "the Never pod Failed");
  const d = await waitPod(c, done, (p) => p.status?.phase === "Succeeded", "the OnFailure pod Succeeded");
  return [n, d, r];
}
export function expectRestartPolicies([never, done, retried]: Pod[]): void {
  const s = (p: Pod) => p.status!.containerStatuses![0]!;
  expect(s(never!).restartCount).to.equal(0);
  expect(s(never!).state?.terminated?.exitCode).to.equal(3);
  expect(s(done!).restartCount).to.equal(0);
  expect(retried!.status?.phase).to.not.be.oneOf(["Failed", "Succeeded"]);
}

export function kubeletBehaviours(f: Flavor, getCluster: () => TestCluster, baseOpts: () => KubeletOptions): void {
  // A describe of its own, so its after hook (which stops this kubelet) runs before the caller's
  // after hook stops the cluster.
  describe("pods", () => {
    let node: string;
    let host: Host;
    let keepsPods = false;
    const c = () => getCluster();
    const start = async (stopPodsOnExit: boolean) => {
      host = await c().startActors([{ def: kubelet, opts: { ...baseOpts(), ...(f.kubeletOpts ?? {}), stopPodsOnExit } }]);
      keepsPods = !stopPodsOnExit;
    };

    before(async () => {
      node = baseOpts().nodeName;
      // The re-adoption behaviour stops this kubelet and expects its containers to live on.
      await start(false);
    });
    after(async () => {
      await host?.stop();
      // Still the kubelet that keeps its pods: one that re-adopts and stops them cleans up.
      if (keepsPods) {
        await start(true);
        await host.stop();
      }
    });

    it("registers its Node as Ready and keeps its Lease fresh", async () => {
      const nodeObj = await waitFor(() => c().store.get("nodes", undefined, node), { what: "node" });
      const ready = (nodeObj.status as { conditions: { type: string; status: string }[] }).conditions.find((x) => x.type === "Ready");
      expect(ready?.status).to.equal("True");
      const first = await c().store.get<Lease>("leases", "kube-node-lease", node);
      expect(first.spec.holderIdentity).to.equal(node);
      await waitFor(async () => (await c().store.get<Lease>("leases", "kube-node-lease", node)).spec.renewTime !== first.spec.renewTime, { what: "lease renewal" });
    });

    it("runs a pod of two containers that talk over localhost", async () => {
      const p = podOf(node, [
        f.sh("web", "mkdir -p www && echo hello-from-web > www/index.html && exec busybox httpd -f -p 127.0.0.1:$PORT -h www", { ports: [{ containerPort: 8080, name: "web" }] }),
        f.sh("client", "until busybox wget -q -O - http://127.0.0.1:$PORT_8080/; do sleep 0.2; done; exec sleep 1000"),
      ]);
      await c().store.create("pods", "default", p);
      const cur = await waitPod(c(), p, running, "pod running");
      expect(cur.status!.podIP).to.be.a("string").and.not.equal("");
      if (f.engine === "process") {
        // Host processes share the host network: each declared port got its own loopback port.
        const ports = JSON.parse(cur.metadata.annotations?.["flotilla.io/ports"] ?? "{}") as Record<string, number>;
        expect(ports["8080"]).to.be.a("number").and.not.equal(8080);
        expect(cur.status!.podIP).to.equal("127.0.0.1");
      }
      expect(cur.status!.conditions!.find((x) => x.type === "Ready")!.status).to.equal("True");
      await waitFor(async () => (await readLogs(c(), node, { namespace: "default", pod: p.metadata.name!, container: "client" })).includes("hello-from-web"), { what: "client log", timeoutMs: 10_000 });
      const evs = (await events(c(), p)).map((e) => e.reason);
      expect(evs).to.include.members(["Created", "Started"]);
    });

    if (f.engine === "process") {
      it("puts a pod's ports back when the pod says other ports than its sandbox has (a patch lost while the store was away)", async () => {
        const p = podOf(node, [f.sh("web", "exec sleep 1000", { ports: [{ containerPort: 8080, name: "web" }] })]);
        await c().store.create("pods", "default", p);
        const cur = await waitPod(c(), p, (x) => running(x) && !!x.metadata.annotations?.["flotilla.io/ports"], "pod running with its ports");
        const real = cur.metadata.annotations!["flotilla.io/ports"]!;
        await c().store.patch("pods", "default", p.metadata.name!, "merge", { metadata: { annotations: { "flotilla.io/ports": JSON.stringify({ 8080: 1 }) } } });
        await waitPod(c(), p, (x) => x.metadata.annotations?.["flotilla.io/ports"] === real, "the sandbox's ports on the pod again");
      });
    }

    it("honours restartPolicy: Never restarts nothing, OnFailure restarts only a failed container (what Jobs rely on)", async () => {
      const never = podOf(node, [f.sh("c", "exit 3")], { restartPolicy: "Never" });
      const done = podOf(node, [f.sh("c", "exit 0")], { restartPolicy: "OnFailure" });
      const retried = podOf(node, [f.sh("c", "exit 1")], { restartPolicy: "OnFailure" });
      for (const p of [never, done, retried]) await c().store.create("pods", "default", p);
      expectRestartPolicies(await checkRestartPolicies(c(), never, done, retried));
    });

    it("restarts a crashing container with growing back-off, showing CrashLoopBackOff", async () => {
      const p = podOf(node, [f.sh("crash", "echo crashing; exit 1")]);
      await c().store.create("pods", "default", p);
      const seen = new Set<string>();
      const cur = await waitPod(c(), p, (x) => {
        const s = x.status?.containerStatuses?.[0];
        if (s?.state?.waiting?.reason) seen.add(s.state.waiting.reason);
        return (s?.restartCount ?? 0) >= 3 && seen.has("CrashLoopBackOff");
      }, "restartCount 3 and CrashLoopBackOff", 45_000);
      const s = cur.status!.containerStatuses![0]!;
      expect(s.lastState?.terminated?.exitCode).to.equal(1);
      expect(cur.status!.phase).to.equal("Running");
      await waitFor(async () => (await events(c(), p)).some((e) => e.reason === "BackOff"), { what: "BackOff event" });
    });

    it("restarts a container whose liveness probe fails", async () => {
      const p = podOf(node, [f.sh("sick", "exec sleep 1000", { livenessProbe: { exec: { command: ["sh", "-c", "exit 1"] }, periodSeconds: 1, failureThreshold: 1 } })]);
      await c().store.create("pods", "default", p);
      await waitPod(c(), p, (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, "a liveness restart", 20_000);
      const evs = await events(c(), p);
      expect(evs.some((e) => e.reason === "Unhealthy" && /Liveness probe failed/.test(e.message ?? ""))).to.equal(true);
      expect(evs.some((e) => e.reason === "Killing")).to.equal(true);
    });

    it("keeps a pod unready until its readiness probe passes", async () => {
      const p = podOf(node, [f.sh("slow", "sleep 1.5; touch ready-now; exec sleep 1000", { readinessProbe: { exec: { command: ["sh", "-c", "test -f ready-now"] }, periodSeconds: 1 } })]);
      await c().store.create("pods", "default", p);
      const early = await waitPod(c(), p, running, "running");
      expect(early.status!.conditions!.find((x) => x.type === "Ready")!.status).to.equal("False");
      await waitPod(c(), p, (x) => x.status?.conditions?.find((y) => y.type === "Ready")?.status === "True", "ready");
    });

    it("stops a deleted pod with SIGTERM, then SIGKILL after the grace period, and removes it", async () => {
      const polite = podOf(node, [f.sh("polite", "trap 'echo bye; exit 0' TERM; echo armed; while :; do sleep 0.1; done")], { terminationGracePeriodSeconds: 30 });
      const stubborn = podOf(node, [f.sh("stubborn", "trap '' TERM; echo armed; while :; do sleep 0.1; done")], { terminationGracePeriodSeconds: 2 });
      for (const p of [polite, stubborn]) await c().store.create("pods", "default", p);
      const ids = await Promise.all([polite, stubborn].map(async (p) => idOf((await waitPod(c(), p, running, "running")).status!.containerStatuses![0]!.containerID)));
      // Signal handlers are installed once the script says so.
      for (const p of [polite, stubborn]) await waitFor(async () => (await readLogs(c(), node, { namespace: "default", pod: p.metadata.name! })).includes("armed"), { what: "armed" });
      const t0 = Date.now();
      for (const p of [polite, stubborn]) await c().store.delete("pods", "default", p.metadata.name!);
      await waitFor(async () => !(await getPod(c(), polite).catch(() => undefined)), { what: "polite pod gone", timeoutMs: 10_000 });
      expect(Date.now() - t0, "SIGTERM honoured well before 30 s").to.be.lessThan(8_000);
      await waitFor(async () => !(await getPod(c(), stubborn).catch(() => undefined)), { what: "stubborn pod gone", timeoutMs: 12_000 });
      expect(Date.now() - t0, "killed after its 2 s grace").to.be.greaterThan(1_900);
      for (const id of ids) expect(await f.isRunning(id)).to.equal(false);
    });

    it("kills a container that outgrows its memory limit and reports it OOMKilled with exit code 137", async () => {
      // The string doubles until the kernel's OOM killer stops it at the 32 MiB limit.
      const hog = podOf(node, [f.sh("hog", "x=a; while :; do x=$x$x; done", { resources: { limits: { memory: "32Mi", cpu: "500m" } } })], { restartPolicy: "Never" });
      const calm = podOf(node, [f.sh("calm", "x=a; x=$x$x; echo ok; exec sleep 1000", { resources: { limits: { memory: "32Mi" } } })]);
      for (const p of [hog, calm]) await c().store.create("pods", "default", p);
      // An engine may learn of the OOM kill just after the exit (its OOM event can follow it):
      // the reason is read once it is OOMKilled, or once the hog has been gone for 5 s.
      const done = await waitPod(
        c(),
        hog,
        (x) => {
          const t = x.status?.containerStatuses?.[0]?.state?.terminated;
          return !!t && (t.reason === "OOMKilled" || Date.now() - Date.parse(t.finishedAt ?? "") > 5_000);
        },
        "the hog terminated",
        30_000,
      );
      const t = done.status!.containerStatuses![0]!.state!.terminated!;
      expect(t.reason).to.equal("OOMKilled");
      expect(t.exitCode).to.equal(137);
      expect(done.status!.phase).to.equal("Failed");
      // A container that stays under its limit runs on.
      await waitPod(c(), calm, running, "the calm pod running");
      await waitFor(async () => (await readLogs(c(), node, { namespace: "default", pod: calm.metadata.name! })).includes("ok"), { what: "calm output" });
      expect((await getPod(c(), calm)).status!.containerStatuses![0]!.restartCount).to.equal(0);
    });

    it("serves logs with tailLines and follow", async () => {
      const p = podOf(node, [f.sh("talker", "for i in 1 2 3 4 5; do echo line$i; done; while :; do echo tick; sleep 0.2; done")]);
      await c().store.create("pods", "default", p);
      await waitPod(c(), p, running, "running");
      await waitFor(async () => (await readLogs(c(), node, { namespace: "default", pod: p.metadata.name! })).includes("tick"), { what: "first tick" });
      const tail = await readLogs(c(), node, { namespace: "default", pod: p.metadata.name!, tailLines: 2 });
      expect(tail.trimEnd().split("\n")).to.have.length(2);
      const followed = await readLogs(c(), node, { namespace: "default", pod: p.metadata.name!, follow: true, tailLines: 0 }, "tick\ntick\ntick\n");
      expect(followed).to.include("tick\ntick\ntick\n");
    });

    it("waits with CreateContainerConfigError for a missing ConfigMap, then starts with its value", async () => {
      const cmName = `cfg-${Date.now().toString(36)}`;
      const p = podOf(node, [f.sh("configured", "echo mode=$MODE pod=$POD_NAME; exec sleep 1000", {
        env: [
          { name: "MODE", valueFrom: { configMapKeyRef: { name: cmName, key: "mode" } } },
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ],
      })]);
      await c().store.create("pods", "default", p);
      const waiting = await waitPod(c(), p, (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError", "CreateContainerConfigError");
      expect(waiting.status!.containerStatuses![0]!.state!.waiting!.message).to.include(cmName);
      await c().store.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: cmName }, data: { mode: "turbo" } });
      await waitPod(c(), p, running, "running after the ConfigMap appears", 20_000);
      await waitFor(async () => (await readLogs(c(), node, { namespace: "default", pod: p.metadata.name! })).includes(`mode=turbo pod=${p.metadata.name}`), { what: "env in log" });
    });

    it("re-adopts its containers after a restart without restarting them", async () => {
      const p = podOf(node, [f.sh("steady", "exec sleep 1000")]);
      await c().store.create("pods", "default", p);
      const before = (await waitPod(c(), p, running, "running")).status!.containerStatuses![0]!;
      await host.stop();
      await start(true);
      const probe = podOf(node, [f.sh("after", "exec sleep 1000")]);
      await c().store.create("pods", "default", probe);
      await waitPod(c(), probe, running, "a pod started by the new kubelet");
      const after = (await getPod(c(), p)).status!.containerStatuses![0]!;
      expect(after.containerID).to.equal(before.containerID);
      expect(after.restartCount).to.equal(0);
      expect(await f.isRunning(idOf(before.containerID))).to.equal(true);
    });
  });
}
