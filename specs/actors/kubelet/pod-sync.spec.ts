import { expect } from "chai";
import type { Pod, Container } from "../../../bus/resources.ts";
import type { EngineContainer, SandboxInfo } from "../../../actors/kubelet/engines/types.ts";
import type { SyncInput } from "../../../actors/kubelet/pod-sync.ts";
import { decideSync } from "../../../actors/kubelet/pod-sync.ts";
import { computeStatus } from "../../../actors/kubelet/pod-status.ts";
import { restartDelayMs } from "../../../actors/kubelet/backoff.ts";
import { rfc3339 } from "../../../bus/time.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const ref = { uid: "u1", namespace: "default", name: "p" };
const sandbox: SandboxInfo = { pod: ref, id: "sb", ip: "10.0.0.2", hostPorts: {}, createdAt: rfc3339(T0) };

function pod(containers: Partial<Container>[], extra: Partial<Pod["spec"]> = {}, meta: Partial<Pod["metadata"]> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", uid: "u1", ...meta },
    spec: { nodeName: "n1", containers: containers.map((c, i) => ({ name: `c${i}`, image: "img", ...c })), ...extra },
  };
}

function ctr(name: string, attempt: number, state: EngineContainer["state"], o: Partial<EngineContainer> = {}): EngineContainer {
  return { id: `${name}-${attempt}`, pod: ref, name, attempt, init: false, state, image: "img", imageID: "sha", startedAt: rfc3339(T0), ...o };
}

function input(p: Pod, containers: EngineContainer[], o: Partial<SyncInput> = {}): SyncInput {
  return { pod: p, sandbox, containers, probes: {}, waiting: {}, now: T0 + 1000, backoff: { baseMs: 10_000, maxMs: 300_000 }, ...o };
}
const ctx = { hostIP: "127.0.0.1", engineName: "docker" };

describe("kubelet pod sync", () => {
  describe("a new pod", () => {
    it("creates the sandbox and starts every container at attempt 0", () => {
      const plan = decideSync(input(pod([{}, {}]), [], { sandbox: undefined }));
      expect(plan.actions).to.deep.equal([
        { type: "createSandbox" },
        { type: "start", container: "c0", init: false, attempt: 0 },
        { type: "start", container: "c1", init: false, attempt: 0 },
      ]);
    });

    it("runs init containers first, one at a time, in order", () => {
      const p = pod([{}], { initContainers: [{ name: "i0", image: "img" }, { name: "i1", image: "img" }] });
      expect(decideSync(input(p, [])).actions).to.deep.equal([{ type: "start", container: "i0", init: true, attempt: 0 }]);
      const i0done = ctr("i0", 0, "exited", { init: true, exitCode: 0, finishedAt: rfc3339(T0) });
      expect(decideSync(input(p, [i0done])).actions).to.deep.equal([{ type: "start", container: "i1", init: true, attempt: 0 }]);
      const i1done = ctr("i1", 0, "exited", { init: true, exitCode: 0, finishedAt: rfc3339(T0) });
      expect(decideSync(input(p, [i0done, i1done])).actions).to.deep.equal([{ type: "start", container: "c0", init: false, attempt: 0 }]);
      const s = computeStatus(input(p, [i0done]), ctx);
      expect(s.phase).to.equal("Pending");
      expect(s.conditions!.find((c) => c.type === "Initialized")!.status).to.equal("False");
    });

    it("fails the pod when an init container fails under restartPolicy Never", () => {
      const p = pod([{}], { restartPolicy: "Never", initContainers: [{ name: "i0", image: "img" }] });
      const failed = ctr("i0", 0, "exited", { init: true, exitCode: 2, finishedAt: rfc3339(T0) });
      expect(decideSync(input(p, [failed])).actions).to.deep.equal([]);
      expect(computeStatus(input(p, [failed]), ctx).phase).to.equal("Failed");
    });
  });

  describe("restarts", () => {
    it("restarts an exited container at once the first time, then backs off doubling from the base", () => {
      const p = pod([{}]);
      const first = ctr("c0", 0, "exited", { exitCode: 1, finishedAt: rfc3339(T0) });
      expect(decideSync(input(p, [first])).actions).to.deep.equal([{ type: "start", container: "c0", init: false, attempt: 1 }]);
      const second = ctr("c0", 1, "exited", { exitCode: 1, finishedAt: rfc3339(T0) });
      const plan = decideSync(input(p, [second, first]));
      expect(plan.actions).to.deep.equal([]);
      expect(plan.requeueAfterMs).to.equal(9000);
      expect(plan.events.map((e) => e.reason)).to.deep.equal(["BackOff"]);
      const s = computeStatus(input(p, [second, first]), ctx).containerStatuses![0]!;
      expect(s.state!.waiting!.reason).to.equal("CrashLoopBackOff");
      expect(s.lastState!.terminated!.exitCode).to.equal(1);
      expect(s.restartCount).to.equal(1);
      expect(decideSync(input(p, [second, first], { now: T0 + 10_000 })).actions).to.deep.equal([{ type: "start", container: "c0", init: false, attempt: 2 }]);
    });

    it("caps the back-off at five minutes", () => {
      expect([1, 2, 3, 6, 20].map((n) => restartDelayMs(n, { baseMs: 10_000, maxMs: 300_000 }))).to.deep.equal([10_000, 20_000, 40_000, 300_000, 300_000]);
    });

    it("does not restart a successful container under OnFailure and the pod succeeds", () => {
      const p = pod([{}], { restartPolicy: "OnFailure" });
      const done = ctr("c0", 0, "exited", { exitCode: 0, finishedAt: rfc3339(T0) });
      expect(decideSync(input(p, [done])).actions).to.deep.equal([]);
      const s = computeStatus(input(p, [done]), ctx);
      expect(s.phase).to.equal("Succeeded");
      expect(s.conditions!.find((c) => c.type === "Ready")!.reason).to.equal("PodCompleted");
    });

    it("never restarts under Never and the pod fails on a non-zero exit", () => {
      const p = pod([{}], { restartPolicy: "Never" });
      const done = ctr("c0", 0, "exited", { exitCode: 3, finishedAt: rfc3339(T0) });
      expect(decideSync(input(p, [done])).actions).to.deep.equal([]);
      expect(computeStatus(input(p, [done]), ctx).phase).to.equal("Failed");
    });

    it("kills a container whose liveness probe failed", () => {
      const p = pod([{ livenessProbe: { exec: { command: ["false"] } } }]);
      const run = ctr("c0", 0, "running");
      const plan = decideSync(input(p, [run], { probes: { "c0-0": { started: true, ready: true, livenessFailed: true } } }));
      expect(plan.actions).to.deep.equal([{ type: "kill", id: "c0-0", container: "c0", graceSeconds: 30, reason: "Unhealthy", probe: "liveness" }]);
    });

    it("kills a container whose startup probe failed its threshold, and not one still starting", () => {
      const p = pod([{ startupProbe: { exec: { command: ["false"] } } }]);
      const run = ctr("c0", 0, "running");
      const failed = decideSync(input(p, [run], { probes: { "c0-0": { started: false, ready: false, livenessFailed: false, startupFailed: true } } }));
      expect(failed.actions).to.deep.equal([{ type: "kill", id: "c0-0", container: "c0", graceSeconds: 30, reason: "Unhealthy", probe: "startup" }]);
      const starting = decideSync(input(p, [run], { probes: { "c0-0": { started: false, ready: false, livenessFailed: false, startupFailed: false } } }));
      expect(starting.actions).to.deep.equal([]);
    });

    it("waits out a config error's back-off before trying again", () => {
      const p = pod([{}]);
      const waiting = { c0: { reason: "CreateContainerConfigError", message: 'configmap "x" not found', failures: 1, lastAt: T0 } };
      expect(decideSync(input(p, [], { waiting })).actions).to.deep.equal([]);
      expect(decideSync(input(p, [], { waiting, now: T0 + 10_000 })).actions).to.deep.equal([{ type: "start", container: "c0", init: false, attempt: 0 }]);
      expect(computeStatus(input(p, [], { waiting }), ctx).containerStatuses![0]!.state!.waiting!.reason).to.equal("CreateContainerConfigError");
    });
  });

  describe("status", () => {
    it("is Running and Ready when every container runs without readiness probes", () => {
      const s = computeStatus(input(pod([{}]), [ctr("c0", 0, "running")]), ctx);
      expect(s.phase).to.equal("Running");
      expect(s.podIP).to.equal("10.0.0.2");
      expect(s.conditions!.map((c) => `${c.type}=${c.status}`)).to.deep.equal(["Initialized=True", "Ready=True", "ContainersReady=True", "PodScheduled=True"]);
      expect(s.containerStatuses![0]!.containerID).to.equal("docker://c0-0");
    });

    it("gates Ready on the readiness probe", () => {
      const p = pod([{ readinessProbe: { httpGet: { port: 80 } } }]);
      const notYet = computeStatus(input(p, [ctr("c0", 0, "running")], { probes: { "c0-0": { started: true, ready: false, livenessFailed: false } } }), ctx);
      expect(notYet.conditions!.find((c) => c.type === "Ready")!.status).to.equal("False");
      const ready = computeStatus(input(p, [ctr("c0", 0, "running")], { probes: { "c0-0": { started: true, ready: true, livenessFailed: false } } }), ctx);
      expect(ready.conditions!.find((c) => c.type === "Ready")!.status).to.equal("True");
    });

    it("keeps a condition's transition time while it does not change", () => {
      const p = pod([{}]);
      const s1 = computeStatus(input(p, [ctr("c0", 0, "running")]), ctx);
      const s2 = computeStatus(input({ ...p, status: s1 }, [ctr("c0", 0, "running")], { now: T0 + 60_000 }), ctx);
      expect(JSON.stringify(s2)).to.equal(JSON.stringify(s1));
    });
  });

  describe("activeDeadlineSeconds", () => {
    const started = (extra: Partial<Pod["spec"]>) => ({ ...pod([{}], extra), status: { phase: "Running" as const, startTime: rfc3339(T0) } });
    it("wakes up when the deadline comes and leaves the pod alone before it", () => {
      const p = started({ activeDeadlineSeconds: 30 });
      const plan = decideSync(input(p, [ctr("c0", 0, "running")], { now: T0 + 10_000 }));
      expect(plan.actions).to.deep.equal([]);
      expect(plan.requeueAfterMs).to.equal(20_000);
      expect(computeStatus(input(p, [ctr("c0", 0, "running")], { now: T0 + 10_000 }), ctx).phase).to.equal("Running");
    });
    it("kills every container and fails the pod with DeadlineExceeded once it passed", () => {
      const p = started({ activeDeadlineSeconds: 30, terminationGracePeriodSeconds: 5 });
      const plan = decideSync(input(p, [ctr("c0", 0, "running")], { now: T0 + 30_000 }));
      expect(plan.actions).to.deep.equal([{ type: "kill", id: "c0-0", container: "c0", graceSeconds: 5, reason: "DeadlineExceeded" }]);
      expect(plan.events.map((e) => e.reason)).to.deep.equal(["DeadlineExceeded"]);
      const s = computeStatus(input(p, [ctr("c0", 0, "running")], { now: T0 + 30_000 }), ctx);
      expect([s.phase, s.reason, s.message]).to.deep.equal(["Failed", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"]);
    });
  });

  describe("deletion", () => {
    it("stops running containers with the grace period, removes everything, then finalizes", () => {
      const p = pod([{}], { terminationGracePeriodSeconds: 5 }, { deletionTimestamp: rfc3339(T0), deletionGracePeriodSeconds: 3 });
      const plan = decideSync(input(p, [ctr("c0", 0, "running")]));
      expect(plan.actions).to.deep.equal([
        { type: "kill", id: "c0-0", container: "c0", graceSeconds: 3, reason: "Deleting" },
        { type: "removeContainer", id: "c0-0" },
        { type: "removeSandbox", id: "sb" },
        { type: "finalize" },
      ]);
    });

    it("keeps only the newest two attempts of a container", () => {
      const cs = [ctr("c0", 2, "running"), ctr("c0", 1, "exited", { exitCode: 1 }), ctr("c0", 0, "exited", { exitCode: 1 })];
      expect(decideSync(input(pod([{}]), cs)).actions).to.deep.equal([{ type: "removeContainer", id: "c0-0" }]);
    });
  });
});
