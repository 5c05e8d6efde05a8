import { expect } from "chai";
import type { KubeObject } from "../../../bus/resources.ts";
import { toTable } from "../../../actors/api-server/tables.ts";

const now = new Date("2026-03-01T12:00:00Z");
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const S = 1000;
const M = 60 * S;

function obj(apiVersion: string, kind: string, name: string, rest: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace: "default", uid: `uid-${name}`, creationTimestamp: ago(3 * M), ...meta }, ...rest } as KubeObject;
}
const cellsOf = (resource: string, o: KubeObject) => toTable(resource, [o], { now }).rows[0]!.cells;
const columnsOf = (resource: string) => toTable(resource, [], { now }).columnDefinitions.map((c) => (c.priority ? `${c.name}(w)` : c.name));
const template = { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "agent", image: "busybox:1" }, { name: "log", image: "fluent:2" }], nodeSelector: { zone: "b", disk: "ssd" } } };

describe("toTable › workload kinds (kubectl get ds,sts,job,cronjob,controllerrevision)", () => {
  it("prints DaemonSets as Kubernetes does: counts, node selector, age, then wide containers/images/selector", () => {
    expect(columnsOf("daemonsets")).to.deep.equal(["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age", "Containers(w)", "Images(w)", "Selector(w)"]);
    const ds = obj("apps/v1", "DaemonSet", "agent", {
      spec: { selector: { matchLabels: { app: "agent" } }, template },
      status: { desiredNumberScheduled: 4, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2, numberMisscheduled: 0 },
    });
    expect(cellsOf("daemonsets", ds)).to.deep.equal([
      "agent", 4, 3, 2, 3, 2, "disk=ssd,zone=b", "3m", "agent,log", "busybox:1,fluent:2", "app=agent",
    ]);
    const bare = obj("apps/v1", "DaemonSet", "bare", { spec: { selector: { matchLabels: { app: "x" } }, template: { spec: { containers: [] } } } });
    expect(cellsOf("daemonsets", bare).slice(1, 7)).to.deep.equal([0, 0, 0, 0, 0, "<none>"]);
  });

  it("prints StatefulSets as Ready ready/replicas and Age, with containers and images wide", () => {
    expect(columnsOf("statefulsets")).to.deep.equal(["Name", "Ready", "Age", "Containers(w)", "Images(w)"]);
    const sts = obj("apps/v1", "StatefulSet", "db", { spec: { replicas: 3, selector: {}, template }, status: { replicas: 3, readyReplicas: 2 } });
    expect(cellsOf("statefulsets", sts)).to.deep.equal(["db", "2/3", "3m", "agent,log", "busybox:1,fluent:2"]);
  });

  it("prints ControllerRevisions with the controller as kind.group/name and the revision number", () => {
    expect(columnsOf("controllerrevisions")).to.deep.equal(["Name", "Controller", "Revision", "Age"]);
    const cr = obj("apps/v1", "ControllerRevision", "agent-7b9f", { revision: 2, data: {} }, {
      ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "u", controller: true }],
    });
    expect(cellsOf("controllerrevisions", cr)).to.deep.equal(["agent-7b9f", "daemonset.apps/agent", 2, "3m"]);
  });

  describe("Jobs", () => {
    const job = (spec: Record<string, unknown>, status: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
      obj("batch/v1", "Job", "pi", { spec: { template, selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u1" } }, ...spec }, status }, meta);

    it("have Status, Completions, Duration and Age columns, and containers/images/selector wide", () => {
      expect(columnsOf("jobs")).to.deep.equal(["Name", "Status", "Completions", "Duration", "Age", "Containers(w)", "Images(w)", "Selector(w)"]);
    });

    it("show a running Job's completions and time since start", () => {
      expect(cellsOf("jobs", job({ completions: 5, parallelism: 2 }, { succeeded: 2, active: 2, startTime: ago(90 * S) }))).to.deep.equal([
        "pi", "Running", "2/5", "90s", "3m", "agent,log", "busybox:1,fluent:2", "batch.kubernetes.io/controller-uid=u1",
      ]);
    });

    it("show a finished Job's status and the time it took", () => {
      const done = job({ completions: 1 }, { succeeded: 1, startTime: ago(2 * M), completionTime: ago(2 * M - 12 * S), conditions: [{ type: "Complete", status: "True" }] });
      expect(cellsOf("jobs", done).slice(0, 4)).to.deep.equal(["pi", "Complete", "1/1", "12s"]);
      const failed = job({ completions: 1 }, { failed: 7, startTime: ago(M), conditions: [{ type: "FailureTarget", status: "True" }, { type: "Failed", status: "True" }] });
      expect(cellsOf("jobs", failed)[1]).to.equal("Failed");
    });

    it("show work-queue Jobs as n/1 of parallelism, suspended and terminating Jobs by name", () => {
      expect(cellsOf("jobs", job({ parallelism: 3 }, {}))[2]).to.equal("0/1 of 3");
      expect(cellsOf("jobs", job({ parallelism: 1 }, {}))[2]).to.equal("0/1");
      expect(cellsOf("jobs", job({ completions: 2 }, { conditions: [{ type: "Suspended", status: "True" }] }))[1]).to.equal("Suspended");
      expect(cellsOf("jobs", job({ completions: 2 }, {}, { deletionTimestamp: ago(S) }))[1]).to.equal("Terminating");
      expect(cellsOf("jobs", job({ completions: 2 }, {}))[3]).to.equal("");
    });
  });

  it("prints CronJobs with schedule, time zone, suspend, active count and last schedule", () => {
    expect(columnsOf("cronjobs")).to.deep.equal(["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers(w)", "Images(w)", "Selector(w)"]);
    const cj = obj("batch/v1", "CronJob", "tick", {
      spec: { schedule: "*/1 * * * *", suspend: false, jobTemplate: { spec: { template } } },
      status: { active: [{ name: "tick-29500" }], lastScheduleTime: ago(40 * S) },
    });
    expect(cellsOf("cronjobs", cj)).to.deep.equal(["tick", "*/1 * * * *", "<none>", "False", 1, "40s", "3m", "agent,log", "busybox:1,fluent:2", "<none>"]);
    const berlin = obj("batch/v1", "CronJob", "nightly", { spec: { schedule: "0 3 * * *", timeZone: "Europe/Berlin", suspend: true, jobTemplate: { spec: { template } } } });
    expect(cellsOf("cronjobs", berlin).slice(2, 6)).to.deep.equal(["Europe/Berlin", "True", 0, "<none>"]);
  });
});
