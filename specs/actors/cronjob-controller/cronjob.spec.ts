import { expect } from "chai";
import type { CronJob, Job } from "../../../bus/resources.ts";
import type { CronJobCommand } from "../../../actors/cronjob-controller/cronjob.ts";
import { reconcileCronJob, jobName, zonedRfc3339 } from "../../../actors/cronjob-controller/cronjob.ts";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const S = 1000;
const M = 60 * S;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const of = <T extends CronJobCommand["type"]>(cs: readonly CronJobCommand[], type: T) => cs.filter((c): c is Extract<CronJobCommand, { type: T }> => c.type === type);

function cronJob(spec: Partial<CronJob["spec"]> = {}): CronJob {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "tick", namespace: "default", uid: "cj-uid", creationTimestamp: iso(T0 - 30 * S) },
    spec: {
      schedule: "*/1 * * * *",
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: { metadata: { labels: { app: "tick" } }, spec: { template: { spec: { containers: [{ name: "tick", image: "busybox" }], restartPolicy: "OnFailure" } } } },
      ...spec,
    },
    status: {},
  };
}

/** A fake clock and store: `job.start` creates the Job and records it as the real executor does. */
class World {
  jobs: Job[] = [];
  now = T0;
  events: string[] = [];
  started: string[] = [];
  private seq = 0;
  constructor(public cj: CronJob) {}
  decide() {
    return reconcileCronJob("default/tick", { cronJob: this.cj, jobs: this.jobs }, this.now);
  }
  step(): CronJobCommand[] {
    const d = this.decide();
    for (const c of d.commands) {
      if (c.type === "cronjob.status") this.cj = { ...this.cj, status: c.status };
      else if (c.type === "job.start") {
        const job = { ...structuredClone(c.job), metadata: { ...c.job.metadata, uid: `job-${++this.seq}`, creationTimestamp: iso(this.now) }, status: { startTime: iso(this.now) } };
        this.jobs.push(job);
        this.started.push(job.metadata.name!);
        const ref = { kind: "Job", namespace: "default", name: job.metadata.name, uid: job.metadata.uid, apiVersion: "batch/v1" };
        this.cj = { ...this.cj, status: { ...this.cj.status, active: [...(this.cj.status?.active ?? []), ref], lastScheduleTime: c.scheduledTime } };
      } else if (c.type === "job.delete") this.jobs = this.jobs.filter((j) => j.metadata.uid !== c.uid);
      else if (c.type === "event.record") this.events.push(`${c.reason}: ${c.message}`);
    }
    return d.commands;
  }
  /** Advances the fake clock to the requeue time and runs the pass it asked for. */
  tick(): CronJobCommand[] {
    const d = this.decide();
    this.now += d.requeueAfterMs ?? 0;
    return this.step();
  }
  finish(name: string, as: "Complete" | "Failed"): void {
    const j = this.jobs.find((x) => x.metadata.name === name)!;
    j.status = { ...j.status, conditions: [{ type: as, status: "True" }], ...(as === "Complete" ? { completionTime: iso(this.now) } : {}) };
  }
}

describe("cronjob controller › reconcileCronJob", () => {
  describe("with schedule */1 * * * * on a fake clock", () => {
    it("starts nothing before the first minute and asks to come back 100 ms after it", () => {
      const w = new World(cronJob());
      w.now = T0 - 10 * S;
      const d = w.decide();
      expect(of(d.commands, "job.start")).to.deep.equal([]);
      expect(d.requeueAfterMs).to.equal(10 * S + 100);
    });

    it("creates one Job per minute, on time, named after its scheduled minute", () => {
      const w = new World(cronJob());
      for (let i = 0; i < 3; i++) {
        w.tick();
        w.finish(w.started[w.started.length - 1]!, "Complete");
      }
      expect(w.started).to.deep.equal([1, 2, 3].map((m) => `tick-${Math.floor((T0 + m * M) / M)}`));
      const job = w.jobs[0]!;
      expect(job.metadata.annotations).to.deep.equal({ "batch.kubernetes.io/cronjob-scheduled-timestamp": iso(T0 + M) });
      expect(job.metadata.labels).to.deep.equal({ app: "tick" });
      expect(job.metadata.ownerReferences![0]).to.include({ kind: "CronJob", name: "tick", controller: true });
      expect(job.spec.template.spec.restartPolicy).to.equal("OnFailure");
    });

    it("records the run as active and lastScheduleTime, and drops it from active once it finished", () => {
      const w = new World(cronJob());
      w.tick();
      expect(w.cj.status).to.deep.include({ lastScheduleTime: iso(T0 + M) });
      expect(w.cj.status!.active!.map((a) => a.name)).to.deep.equal([jobName(w.cj, T0 + M)]);
      w.now += 5 * S;
      w.finish(w.started[0]!, "Complete");
      w.step();
      expect(w.cj.status!.active).to.equal(undefined);
      expect(w.cj.status!.lastSuccessfulTime).to.equal(iso(w.now));
      expect(w.events).to.deep.equal([`SawCompletedJob: Saw completed job: ${w.started[0]}, condition: Complete`]);
    });

    it("with Forbid skips a run while the previous one is still active, and runs again once it finished", () => {
      const w = new World(cronJob({ concurrencyPolicy: "Forbid" }));
      w.tick();
      const skipped = w.tick();
      expect(of(skipped, "job.start")).to.deep.equal([]);
      expect(w.events).to.include("JobAlreadyActive: Not starting job because prior execution is running and concurrency policy is Forbid");
      w.finish(w.started[0]!, "Complete");
      w.tick();
      expect(w.started).to.have.length(2);
    });

    it("with Replace deletes the active run and starts the new one", () => {
      const w = new World(cronJob({ concurrencyPolicy: "Replace" }));
      w.tick();
      const cs = w.tick();
      expect(of(cs, "job.delete").map((c) => c.name)).to.deep.equal([w.started[0]]);
      expect(w.jobs.map((j) => j.metadata.name)).to.deep.equal([w.started[1]]);
      expect(w.cj.status!.active!.map((a) => a.name)).to.deep.equal([w.started[1]]);
    });

    it("with Allow runs next to a still-active run", () => {
      const w = new World(cronJob());
      w.tick();
      w.tick();
      expect(w.cj.status!.active).to.have.length(2);
    });
  });

  describe("after downtime", () => {
    it("starts a single catch-up run for the most recent missed time", () => {
      const w = new World(cronJob());
      w.tick();
      w.finish(w.started[0]!, "Complete");
      w.now += 10 * M + 20 * S;
      const cs = w.step();
      expect(of(cs, "job.start").map((c) => c.scheduledTime)).to.deep.equal([iso(T0 + 11 * M)]);
      expect(w.step().filter((c) => c.type === "job.start")).to.deep.equal([]);
    });

    it("reports more than 100 missed times as TooManyMissedTimes and still runs only once", () => {
      const w = new World(cronJob());
      w.now = T0 + 150 * M + 5 * S;
      const cs = w.step();
      expect(of(cs, "job.start")).to.have.length(1);
      expect(w.events).to.include("TooManyMissedTimes: too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
    });

    it("skips a time older than startingDeadlineSeconds as missed", () => {
      const w = new World(cronJob({ schedule: "0 * * * *", startingDeadlineSeconds: 30 }));
      w.now = T0 + 60 * M + 45 * S;
      const cs = w.step();
      expect(of(cs, "job.start")).to.deep.equal([]);
      w.now = T0 + 60 * M + 20 * S;
      expect(of(w.step(), "job.start")).to.have.length(1);
    });
  });

  describe("schedules", () => {
    it("understands @hourly and reads the fields in spec.timeZone", () => {
      const hourly = new World(cronJob({ schedule: "@hourly" }));
      hourly.now = T0 + 5 * S;
      expect(hourly.decide().requeueAfterMs).to.equal(60 * M - 5 * S + 100);
      const berlin = new World(cronJob({ schedule: "30 13 * * *", timeZone: "Europe/Berlin" }));
      berlin.now = Date.parse("2026-03-01T12:30:05Z");
      const [start] = of(berlin.step(), "job.start");
      expect(start!.scheduledTime).to.equal("2026-03-01T12:30:00Z");
      expect(start!.job.metadata.annotations!["batch.kubernetes.io/cronjob-scheduled-timestamp"]).to.equal("2026-03-01T13:30:00+01:00");
      expect(zonedRfc3339(Date.parse("2026-07-01T12:00:00Z"), "Europe/Berlin")).to.equal("2026-07-01T14:00:00+02:00");
    });

    it("starts nothing while suspended", () => {
      const w = new World(cronJob({ suspend: true }));
      w.now += 5 * M;
      expect(of(w.step(), "job.start")).to.deep.equal([]);
    });
  });

  describe("history", () => {
    it("keeps 3 successful and 1 failed finished Jobs, deleting the oldest", () => {
      const w = new World(cronJob());
      for (let i = 0; i < 6; i++) {
        w.tick();
        w.finish(w.started[i]!, i === 1 || i === 2 ? "Failed" : "Complete");
      }
      w.step();
      const left = w.jobs.map((j) => j.metadata.name);
      expect(left).to.deep.equal([w.started[2], w.started[3], w.started[4], w.started[5]]);
    });
  });

  it("drops an active entry whose Job is gone, but not the one just started", () => {
    const w = new World(cronJob());
    w.tick();
    w.jobs = [];
    expect(w.step().filter((c) => c.type === "cronjob.status")).to.deep.equal([]);
    w.now += 31 * S;
    w.step();
    expect(w.events).to.include(`MissingJob: Active job went missing: ${w.started[0]}`);
  });

  it("notes a Job it did not start but owns, except one made by kubectl create job --from", () => {
    const w = new World(cronJob());
    const stray = (name: string, annotations: Record<string, string> = {}): Job => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: "default", uid: name, annotations, ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "tick", uid: "cj-uid", controller: true }] },
      spec: { template: { spec: { containers: [] } } },
    });
    w.jobs.push(stray("odd"), stray("manual", { "cronjob.kubernetes.io/instantiate": "manual" }));
    w.step();
    expect(w.events).to.deep.equal(["UnexpectedJob: Saw a job that the controller did not create or forgot: odd"]);
  });
});
