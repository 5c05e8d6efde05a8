import { expect } from "chai";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { CronJob, Job, Pod } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { scheduler } from "../../actors/scheduler/index.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { jobController } from "../../actors/job-controller/index.ts";
import { cronJobController } from "../../actors/cronjob-controller/index.ts";
import { garbageCollector } from "../../actors/garbage-collector/index.ts";
import { rfc3339 } from "../../bus/time.ts";
import { killProcessContainers } from "../actors/kubelet/behaviours.ts";

const NS = "default";

function job(name: string, spec: Partial<Job["spec"]>, command: string[]): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NS },
    spec: { template: { spec: { containers: [{ name: "main", image: "busybox", command }], restartPolicy: "Never", terminationGracePeriodSeconds: 1 } }, ...spec },
  };
}
const conditionsOf = (j: Job) => (j.status?.conditions ?? []).filter((c) => c.status === "True").map((c) => `${c.type}/${c.reason}`);

for (const engine of ["simulated", "process"] as const) {
  describe(`Job and CronJob controllers with ${engine} kubelets (integration)`, function () {
    this.timeout(90_000);
    let c: TestCluster;
    const dataDir = mkdtempSync(join(tmpdir(), "flotilla-job-"));
    // Process-engine pods run as an unprivileged user: they write here, outside the kubelet's data dir.
    const work = mkdtempSync(join(tmpdir(), "flotilla-job-work-"));
    chmodSync(work, 0o777);
    const get = (name: string) => c.store.get<Job>("jobs", NS, name);
    const podsOf = async (name: string) => (await c.store.list<Pod>("pods", NS, { labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;

    before(async () => {
      c = await startTestCluster({ actors: [{ def: scheduler }, { def: jobController, opts: { backoffBaseMs: 200 } }, { def: cronJobController }, { def: garbageCollector }] });
      await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
      // Simulated containers take 300 ms to start: the window in which a spec fails one from outside.
      await c.startActors(["a", "b"].map((n) => ({ def: kubelet, opts: { nodeName: `${engine}-${n}`, engine, dataDir, backoffBaseMs: 200, startLatencyMs: 300 } })));
    });
    after(async () => {
      await c?.stop();
      killProcessContainers(dataDir);
      for (const d of [dataDir, work]) rmSync(d, { recursive: true, force: true });
    });

    it("completes 5 completions at parallelism 2 although one pod fails, never running more than 2 at once", async () => {
      // One pod fails: on the process engine the first to take a lock exits 1; on the simulated one it is failed from outside.
      const lock = join(work, "lock");
      const command = engine === "process" ? ["sh", "-c", `if mkdir ${lock} 2>/dev/null; then exit 1; fi; sleep 0.2; exit 0`] : ["sh", "-c", "sleep 1; exit 0"];
      await c.store.create("jobs", NS, job("five", { completions: 5, parallelism: 2 }, command));
      let most = 0;
      let failedOne = engine === "process";
      const done: Job = await waitFor(
        async () => {
          const pods = await podsOf("five");
          most = Math.max(most, pods.filter((p) => p.status?.phase === "Running" || p.status?.phase === "Pending").filter((p) => !p.metadata.deletionTimestamp).length);
          const starting = pods.find((p) => p.spec.nodeName && p.status?.phase === "Pending" && !p.metadata.deletionTimestamp);
          if (!failedOne && starting) {
            await c.store.updateStatus("pods", {
              ...starting,
              status: { ...starting.status, phase: "Failed", containerStatuses: [{ name: "main", ready: false, restartCount: 0, image: "busybox", imageID: "", state: { terminated: { exitCode: 1 } } }] },
            });
            failedOne = true;
          }
          const j = await get("five");
          return conditionsOf(j).includes("Complete/CompletionsReached") ? j : undefined;
        },
        { what: "the Job complete", timeoutMs: 60_000, intervalMs: 50 },
      );
      expect(done.status).to.deep.include({ succeeded: 5, failed: 1, active: 0 });
      expect(most).to.be.at.most(2);
      if (engine === "process") {
        const phases = (await podsOf("five")).map((p) => p.status?.phase).sort();
        expect(phases).to.deep.equal(["Failed", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded"]);
      }
    });

    it("runs an Indexed Job's indexes 0–4 each exactly once, each pod seeing its JOB_COMPLETION_INDEX", async () => {
      const seen = join(work, "indexes");
      const command = engine === "process" ? ["sh", "-c", `echo "$JOB_COMPLETION_INDEX" >> ${seen}; exit 0`] : ["sh", "-c", "exit 0"];
      await c.store.create("jobs", NS, job("indexed", { completions: 5, parallelism: 2, completionMode: "Indexed" }, command));
      const done: Job = await waitFor(async () => {
        const j = await get("indexed");
        return conditionsOf(j).includes("Complete/CompletionsReached") ? j : undefined;
      }, { what: "the Indexed Job complete", timeoutMs: 60_000 });
      expect(done.status).to.deep.include({ completedIndexes: "0-4", succeeded: 5 });
      const indexes = (await podsOf("indexed")).map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"]).sort();
      expect(indexes).to.deep.equal(["0", "1", "2", "3", "4"]);
      if (engine === "process") expect(readFileSync(seen, "utf8").trim().split("\n").sort()).to.deep.equal(["0", "1", "2", "3", "4"]);
    });

    it("fails a Job that outlives activeDeadlineSeconds, stopping its pods", async () => {
      await c.store.create("jobs", NS, job("slow", { activeDeadlineSeconds: 2, parallelism: 2, completions: 2 }, ["sleep", "3600"]));
      const failed: Job = await waitFor(async () => {
        const j = await get("slow");
        return conditionsOf(j).includes("Failed/DeadlineExceeded") ? j : undefined;
      }, { what: "the Job failed", timeoutMs: 30_000 });
      expect(conditionsOf(failed)).to.deep.equal(["FailureTarget/DeadlineExceeded", "Failed/DeadlineExceeded"]);
      await waitFor(async () => (await podsOf("slow")).length === 0, { what: "its pods gone", timeoutMs: 15_000 });
      const events = (await c.store.list("events", NS)).items as { reason?: string; involvedObject?: { name?: string } }[];
      expect(events.some((e) => e.reason === "DeadlineExceeded" && e.involvedObject?.name === "slow")).to.equal(true);
    });

    it("takes the pods of a running Job away when the Job is deleted (their tracking finalizer released)", async () => {
      await c.store.create("jobs", NS, job("doomed", { parallelism: 2, completions: 2 }, ["sleep", "3600"]));
      await waitFor(async () => (await podsOf("doomed")).filter((p) => p.status?.phase === "Running").length === 2, { what: "two running pods", timeoutMs: 20_000 });
      await c.store.delete("jobs", NS, "doomed", { propagationPolicy: "Background" });
      await waitFor(async () => (await podsOf("doomed")).length === 0, { what: "the deleted Job's pods gone", timeoutMs: 20_000 });
    });

    it("with Forbid skips a run while one is active, then starts a single catch-up Job for the runs it missed", async () => {
      const cj: CronJob = {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "tick", namespace: NS },
        spec: { schedule: "*/1 * * * *", concurrencyPolicy: "Forbid", jobTemplate: { spec: job("x", {}, ["sleep", "3600"]).spec } },
      };
      const created = await c.store.create<CronJob>("cronjobs", NS, cj);
      // A run still active, and the last scheduled run 10 minutes ago (as if the controller had been down).
      const active = await c.store.create<Job>("jobs", NS, {
        ...job("tick-earlier", {}, ["sleep", "3600"]),
        metadata: { name: "tick-earlier", namespace: NS, ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "tick", uid: created.metadata.uid!, controller: true }] },
      });
      const minute = Math.floor(Date.now() / 60_000) * 60_000;
      const ref = { kind: "Job", namespace: NS, name: active.metadata.name, uid: active.metadata.uid, apiVersion: "batch/v1" };
      await c.store.updateStatus("cronjobs", { ...created, status: { active: [ref], lastScheduleTime: rfc3339(minute - 10 * 60_000) } });
      const events = async () => ((await c.store.list("events", NS)).items as { reason?: string; involvedObject?: { name?: string } }[]).filter((e) => e.involvedObject?.name === "tick");
      await waitFor(async () => (await events()).some((e) => e.reason === "JobAlreadyActive"), { what: "the Forbid skip reported", timeoutMs: 15_000 });
      const ticks = async () => (await c.store.list<Job>("jobs", NS)).items.map((j) => j.metadata.name!).filter((n) => n.startsWith("tick-")).sort();
      expect(await ticks()).to.deep.equal(["tick-earlier"]);

      await c.store.delete("jobs", NS, "tick-earlier", { propagationPolicy: "Background" });
      // One catch-up Job for the most recent minute (the next one, should the clock just have crossed it).
      const names = [minute, minute + 60_000].map((m) => `tick-${m / 60_000}`);
      const started = await waitFor(async () => {
        const t = await ticks();
        return t.length === 1 && names.includes(t[0]!) ? t[0] : undefined;
      }, { what: "one catch-up Job", timeoutMs: 15_000 });
      const cur = await waitFor(async () => {
        const cj = await c.store.get<CronJob>("cronjobs", NS, "tick");
        return cj.status?.active?.length ? cj : undefined;
      }, { what: "the catch-up run recorded as active" });
      expect(cur.status?.active?.map((a) => a.name)).to.deep.equal([started]);
      expect(cur.status?.lastScheduleTime).to.equal(rfc3339(Number(started.slice("tick-".length)) * 60_000));
      expect(await ticks()).to.have.length(1);
      await c.store.delete("cronjobs", NS, "tick", { propagationPolicy: "Background" });
    });
  });
}
