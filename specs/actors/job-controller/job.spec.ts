import { expect } from "chai";
import type { Job, Pod } from "../../../bus/resources.ts";
import type { JobCommand } from "../../../actors/job-controller/job.ts";
import { reconcileJob } from "../../../actors/job-controller/job.ts";
import { formatIndexes, parseIndexes } from "../../../actors/job-controller/job-pods.ts";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const of = <T extends JobCommand["type"]>(cs: readonly JobCommand[], type: T) => cs.filter((c): c is Extract<JobCommand, { type: T }> => c.type === type);
const UID = "job-uid";
const SEL = { "batch.kubernetes.io/controller-uid": UID };

function job(spec: Partial<Job["spec"]> = {}): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: UID, generation: 1 },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      selector: { matchLabels: SEL },
      template: { metadata: { labels: { ...SEL, "batch.kubernetes.io/job-name": "pi" } }, spec: { containers: [{ name: "main", image: "busybox" }], restartPolicy: "Never" } },
      ...spec,
    },
    status: {},
  };
}

/** The store, the kubelets and the informer in miniature: created pods start Running; `finish` ends them. */
class World {
  pods: Pod[] = [];
  now = T0;
  events: string[] = [];
  deletedJob = false;
  private seq = 0;
  constructor(public job: Job) {}
  decide() {
    return reconcileJob("default/pi", { job: this.job, pods: this.pods, expectationsSatisfied: true, backoffBaseMs: 1000, backoffMaxMs: 8000 }, this.now);
  }
  step(): JobCommand[] {
    const d = this.decide();
    this.apply(d.commands);
    return d.commands;
  }
  /** Carries the commands out, in order, as the executor does. */
  apply(commands: readonly JobCommand[]): void {
    for (const c of commands) {
      if (c.type === "pods.create")
        for (const p of c.pods) {
          const pod = structuredClone(p);
          pod.metadata.name = `${p.metadata.generateName}${++this.seq}`;
          pod.metadata.uid = `pod-${this.seq}`;
          pod.metadata.creationTimestamp = iso(this.now);
          pod.status = { phase: "Running" };
          this.pods.push(pod);
        }
      else if (c.type === "pods.delete") {
        const gone = new Set(c.pods.map((p) => p.uid));
        this.pods = this.pods.filter((p) => !gone.has(p.metadata.uid!));
      } else if (c.type === "pods.finalize") this.pods = this.pods.map((p) => c.pods.find((x) => x.metadata.uid === p.metadata.uid) ?? p);
      else if (c.type === "job.status") this.job = { ...this.job, status: c.status };
      else if (c.type === "event.record") this.events.push(`${c.reason}: ${c.message}`);
      else if (c.type === "job.delete") this.deletedJob = true;
    }
  }
  running(): Pod[] {
    return this.pods.filter((p) => p.status?.phase === "Running");
  }
  finish(p: Pod, exitCode: number): void {
    p.status = {
      phase: exitCode === 0 ? "Succeeded" : "Failed",
      containerStatuses: [{ name: "main", ready: false, restartCount: 0, image: "busybox", imageID: "", state: { terminated: { exitCode, finishedAt: iso(this.now) } } }],
    };
  }
  conditions(): string[] {
    return (this.job.status?.conditions ?? []).filter((c) => c.status === "True").map((c) => `${c.type}/${c.reason}`);
  }
}

describe("job controller › reconcileJob", () => {
  describe("a NonIndexed Job of 5 completions at parallelism 2", () => {
    it("runs two pods at a time, replaces a failed one after its back-off, and completes after 5 successes", () => {
      const w = new World(job({ completions: 5, parallelism: 2 }));
      w.step();
      expect(w.running()).to.have.length(2);
      expect(w.job.status).to.deep.include({ active: 2, succeeded: 0, failed: 0, startTime: iso(T0) });
      let failedOnce = false;
      let most = 0;
      for (let i = 0; i < 40 && !w.conditions().includes("Complete/CompletionsReached"); i++) {
        w.now += 500;
        const [first] = w.running();
        if (first) w.finish(first, failedOnce ? 0 : 1);
        failedOnce = true;
        w.step();
        most = Math.max(most, w.running().length);
      }
      expect(most).to.be.at.most(2);
      expect(w.conditions()).to.deep.equal(["Complete/CompletionsReached"]);
      expect(w.job.status).to.deep.include({ succeeded: 5, failed: 1, active: 0, uncountedTerminatedPods: {} });
      expect(w.job.status!.completionTime).to.be.a("string");
      expect(w.events).to.include("Completed: Job completed");
    });

    it("labels, annotates and finalizes its pods as Kubernetes does", () => {
      const w = new World(job());
      const [create] = of(w.step(), "pods.create");
      const p = create!.pods[0]!;
      expect(p.metadata.generateName).to.equal("pi-");
      expect(p.metadata.finalizers).to.deep.equal(["batch.kubernetes.io/job-tracking"]);
      expect(p.metadata.labels).to.deep.equal({ ...SEL, "batch.kubernetes.io/job-name": "pi" });
      expect(p.metadata.ownerReferences).to.deep.equal([{ apiVersion: "batch/v1", kind: "Job", name: "pi", uid: UID, controller: true, blockOwnerDeletion: true }]);
    });
  });

  describe("the Completed event", () => {
    it("is recorded once, even when the status write that completes the Job is refused and the Job is decided again", () => {
      const w = new World(job());
      w.step();
      w.finish(w.pods[0]!, 0);
      w.step(); // counted: the finalizer goes, the Job completes
      // Once more from the state before that step's last write, as a retry after a refused write does.
      const w2 = new World(job());
      w2.step();
      w2.finish(w2.pods[0]!, 0);
      const first = w2.decide().commands;
      const completing = first.map((c) => c.type).lastIndexOf("job.status");
      // The executor stops at the refused write: what came before it ran, nothing after it.
      w2.apply(first.slice(0, completing));
      w2.step();
      w2.step();
      expect(w.events.filter((e) => e.startsWith("Completed"))).to.deep.equal(["Completed: Job completed"]);
      expect(w2.events.filter((e) => e.startsWith("Completed"))).to.deep.equal(["Completed: Job completed"]);
      expect(w2.conditions()).to.include("Complete/CompletionsReached");
    });
  });

  describe("counting with the tracking finalizer", () => {
    it("notes a finished pod as uncounted, removes its finalizer, then counts it — once", () => {
      const w = new World(job());
      w.step();
      w.finish(w.pods[0]!, 0);
      const cs = w.decide().commands;
      // The Completed event after the status write that says so: a refused write records nothing.
      expect(cs.map((c) => c.type)).to.deep.equal(["job.status", "pods.finalize", "job.status", "event.record"]);
      expect(of(cs, "job.status")[0]!.status.uncountedTerminatedPods).to.deep.equal({ succeeded: [w.pods[0]!.metadata.uid], failed: [] });
      expect(of(cs, "pods.finalize")[0]!.pods[0]!.metadata.finalizers).to.equal(undefined);
      w.step();
      expect(w.job.status).to.deep.include({ succeeded: 1 });
      w.pods = [];
      w.step();
      expect(w.job.status).to.deep.include({ succeeded: 1 });
    });

    it("counts a pod whose finalizer went but whose count was not written yet (the pass was cut short)", () => {
      const w = new World(job({ completions: 2 }));
      w.step();
      w.finish(w.pods[0]!, 0);
      w.pods[0]!.metadata.finalizers = undefined;
      w.job.status = { ...w.job.status, uncountedTerminatedPods: { succeeded: [w.pods[0]!.metadata.uid!], failed: [] } };
      w.step();
      expect(w.job.status).to.deep.include({ succeeded: 1, uncountedTerminatedPods: {} });
    });
  });

  describe("Indexed", () => {
    it("runs each index 0–4 exactly once, with JOB_COMPLETION_INDEX, the annotation, the label and the hostname", () => {
      const w = new World(job({ completionMode: "Indexed", completions: 5, parallelism: 2 }));
      const [create] = of(w.step(), "pods.create");
      const p = create!.pods[0]!;
      expect(p.metadata.generateName).to.equal("pi-0-");
      expect(p.metadata.annotations).to.deep.equal({ "batch.kubernetes.io/job-completion-index": "0" });
      expect(p.metadata.labels!["batch.kubernetes.io/job-completion-index"]).to.equal("0");
      expect(p.spec.hostname).to.equal("pi-0");
      expect(p.spec.containers[0]!.env).to.deep.equal([
        { name: "JOB_COMPLETION_INDEX", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
      ]);
      const started: string[] = [];
      for (const q of w.pods) started.push(q.metadata.annotations!["batch.kubernetes.io/job-completion-index"]!);
      for (let i = 0; i < 20 && !w.conditions().includes("Complete/CompletionsReached"); i++) {
        w.now += 500;
        for (const q of w.running()) w.finish(q, 0);
        const before = new Set(w.pods.map((q) => q.metadata.uid));
        w.step();
        for (const q of w.pods) if (!before.has(q.metadata.uid)) started.push(q.metadata.annotations!["batch.kubernetes.io/job-completion-index"]!);
      }
      expect(started.sort()).to.deep.equal(["0", "1", "2", "3", "4"]);
      expect(w.job.status).to.deep.include({ completedIndexes: "0-4", succeeded: 5 });
    });

    it("retries a failed index and gives it back to the same index", () => {
      const w = new World(job({ completionMode: "Indexed", completions: 2, parallelism: 2 }));
      w.step();
      w.finish(w.pods.find((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"] === "1")!, 3);
      w.now += 2000;
      w.step();
      const again = w.running().map((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"]).sort();
      expect(again).to.deep.equal(["0", "1"]);
    });

    it("formats completed indexes the way Kubernetes does", () => {
      expect(formatIndexes([7, 1, 3, 4, 5])).to.equal("1,3-5,7");
      expect(formatIndexes([0, 1])).to.equal("0,1");
      expect([...parseIndexes("1,3-5,7")]).to.deep.equal([1, 3, 4, 5, 7]);
    });
  });

  describe("failure", () => {
    it("fails with BackoffLimitExceeded once failures exceed backoffLimit, waiting longer after each failure", () => {
      const w = new World(job({ backoffLimit: 2 }));
      w.step();
      w.finish(w.pods[0]!, 1);
      const first = w.decide();
      expect(of(first.commands, "pods.create")).to.deep.equal([]);
      expect(first.requeueAfterMs).to.equal(1000);
      w.step();
      w.now += 1000;
      w.step();
      expect(w.running()).to.have.length(1);
      w.finish(w.running()[0]!, 1);
      w.step();
      w.now += 1000;
      expect(of(w.step(), "pods.create")).to.deep.equal([], "the second failure waits 2 s");
      w.now += 1000;
      w.step();
      w.finish(w.running()[0]!, 1);
      w.step();
      expect(w.conditions()).to.deep.equal(["FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"]);
      expect(w.job.status).to.deep.include({ failed: 3 });
      expect(w.events).to.include("BackoffLimitExceeded: Job has reached the specified backoff limit");
    });

    it("fails with DeadlineExceeded after activeDeadlineSeconds, deleting its pods first", () => {
      const w = new World(job({ activeDeadlineSeconds: 30 }));
      const first = w.decide();
      expect(first.requeueAfterMs).to.equal(30_000);
      w.step();
      w.now = T0 + 30_000;
      const cs = w.step();
      expect(of(cs, "pods.delete")[0]!.pods).to.have.length(1);
      expect(w.conditions()).to.deep.equal(["FailureTarget/DeadlineExceeded"]);
      w.step();
      expect(w.conditions()).to.deep.equal(["FailureTarget/DeadlineExceeded", "Failed/DeadlineExceeded"]);
      expect(w.job.status!.completionTime).to.equal(undefined);
    });

    it("fails at once on an exit code a FailJob rule names, ignores one an Ignore rule names", () => {
      const rules = [
        { action: "FailJob" as const, onExitCodes: { operator: "In" as const, values: [42] } },
        { action: "Ignore" as const, onExitCodes: { operator: "In" as const, values: [137] } },
      ];
      const ignore = new World(job({ podFailurePolicy: { rules } }));
      ignore.step();
      ignore.finish(ignore.pods[0]!, 137);
      ignore.step();
      expect(ignore.job.status).to.deep.include({ failed: 0 });
      expect(ignore.running()).to.have.length(1, "an ignored failure is replaced at once, without back-off");
      const fail = new World(job({ podFailurePolicy: { rules }, backoffLimit: 6 }));
      fail.step();
      fail.finish(fail.pods[0]!, 42);
      fail.step();
      expect(fail.conditions()).to.deep.equal(["FailureTarget/PodFailurePolicy", "Failed/PodFailurePolicy"]);
      expect(fail.job.status!.conditions![0]!.message).to.equal("Container main for pod default/pi-1 failed with exit code 42 matching FailJob rule at index 0");
    });

    it("counts container restarts toward backoffLimit with restartPolicy OnFailure", () => {
      const j = job({ backoffLimit: 2 });
      j.spec.template.spec.restartPolicy = "OnFailure";
      const w = new World(j);
      w.step();
      w.pods[0]!.status = { phase: "Running", containerStatuses: [{ name: "main", ready: false, restartCount: 2, image: "", imageID: "" }] };
      w.step();
      expect(w.conditions()).to.deep.equal(["FailureTarget/BackoffLimitExceeded"]);
    });
  });

  describe("suspend, ttl", () => {
    it("deletes the active pods of a suspended Job and starts again when resumed", () => {
      const w = new World(job({ completions: 2, parallelism: 2 }));
      w.step();
      w.job = { ...w.job, spec: { ...w.job.spec, suspend: true } };
      const cs = w.step();
      expect(of(cs, "pods.delete")[0]!.pods).to.have.length(2);
      expect(w.conditions()).to.deep.equal(["Suspended/JobSuspended"]);
      expect(w.job.status!.startTime).to.equal(undefined);
      w.job = { ...w.job, spec: { ...w.job.spec, suspend: false } };
      w.now += 5000;
      w.step();
      expect(w.running()).to.have.length(2);
      expect(w.job.status!.startTime).to.equal(iso(w.now));
      expect(w.events).to.deep.equal(["Suspended: Job suspended", "Resumed: Job resumed"]);
    });

    it("creates nothing for a Job created suspended", () => {
      const w = new World(job({ suspend: true }));
      expect(of(w.step(), "pods.create")).to.deep.equal([]);
    });

    it("deletes a finished Job ttlSecondsAfterFinished later, not before", () => {
      const w = new World(job({ ttlSecondsAfterFinished: 60 }));
      w.step();
      w.finish(w.pods[0]!, 0);
      w.step();
      const d = w.decide();
      expect(d.requeueAfterMs).to.equal(60_000);
      w.now += 60_000;
      w.step();
      expect(w.deletedJob).to.equal(true);
    });
  });

  it("releases the pods of a Job being deleted from their tracking finalizer", () => {
    const w = new World(job());
    w.step();
    w.job.metadata.deletionTimestamp = iso(w.now);
    const cs = w.decide().commands;
    expect(cs.map((c) => c.type)).to.deep.equal(["pods.finalize"]);
  });

  it("lets the pods of a deleted Job go: their tracking finalizer is removed", () => {
    const w = new World(job());
    w.step();
    const cs = reconcileJob("default/pi", { job: undefined, pods: w.pods, expectationsSatisfied: true }, w.now).commands;
    expect(cs.map((c) => c.type)).to.deep.equal(["pods.finalize"]);
    expect(of(cs, "pods.finalize")[0]!.pods[0]!.metadata.finalizers).to.equal(undefined);
  });
});
