import type { Event, Job, Node, Pod, PodPhase } from "../../bus/resources.ts";
import { expect } from "chai";
import { age, allocation, filterEvents, formatMemory, jobCompletions, jobStatus, nodeStatusText, phaseCounts, podStatus, uptime } from "../../ui/src/lib/format.ts";
import { parseHash, hrefOf } from "../../ui/src/lib/route.ts";

const node = (name: string, ready: "True" | "False", unschedulable = false): Node => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name },
  spec: { unschedulable },
  status: { allocatable: { cpu: "2", memory: "4Gi", pods: "110" }, conditions: [{ type: "Ready", status: ready }] },
});
const pod = (name: string, nodeName: string | undefined, phase: PodPhase, cpu = "250m", memory = "512Mi"): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "c", image: "busybox", resources: { requests: { cpu, memory } } }] },
  status: { phase },
});
const ev = (reason: string, type: "Normal" | "Warning", at: string, ns = "default"): Event => ({
  apiVersion: "v1",
  kind: "Event",
  metadata: { name: reason, namespace: ns },
  involvedObject: { kind: "Deployment", name: "web" },
  reason,
  type,
  message: `${reason} happened`,
  lastTimestamp: at,
});

describe("dashboard formatting", () => {
  it("sums the requests of a node's live pods against its allocatable", () => {
    const pods = [pod("a", "n1", "Running"), pod("b", "n1", "Pending"), pod("c", "n1", "Succeeded"), pod("d", "n2", "Running")];
    const a = allocation(node("n1", "True"), pods);
    expect(a.cpu).to.deep.equal({ used: 500, total: 2000 });
    expect(a.memory).to.deep.equal({ used: 2 ** 30, total: 4 * 2 ** 30 });
    expect(a.pods).to.deep.equal({ used: 2, total: 110 });
  });

  it("shows node status like kubectl", () => {
    expect(nodeStatusText(node("n", "True", true))).to.equal("Ready,SchedulingDisabled");
    expect(nodeStatusText(node("n", "False"))).to.equal("NotReady");
  });

  it("shows a waiting reason or Terminating before the phase", () => {
    const p = pod("a", "n1", "Pending");
    expect(podStatus(p)).to.equal("Pending");
    expect(podStatus({ ...p, status: { phase: "Running", containerStatuses: [{ name: "c", ready: false, restartCount: 3, image: "", imageID: "", state: { waiting: { reason: "CrashLoopBackOff" } } }] } })).to.equal("CrashLoopBackOff");
    expect(podStatus({ ...p, metadata: { ...p.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } })).to.equal("Terminating");
  });

  it("counts pods by phase", () => {
    expect(phaseCounts([pod("a", "n", "Running"), pod("b", undefined, "Pending"), pod("c", "n", "Running")])).to.include({ Running: 2, Pending: 1, Failed: 0 });
  });

  it("filters events by namespace, type and text, newest first", () => {
    const evs = [ev("ScalingReplicaSet", "Normal", "2026-01-01T00:00:02Z"), ev("FailedScheduling", "Warning", "2026-01-01T00:00:03Z"), ev("Killing", "Normal", "2026-01-01T00:00:01Z", "other")];
    expect(filterEvents(evs, {}).map((e) => e.reason)).to.deep.equal(["FailedScheduling", "ScalingReplicaSet", "Killing"]);
    expect(filterEvents(evs, { namespace: "default", type: "Normal" }).map((e) => e.reason)).to.deep.equal(["ScalingReplicaSet"]);
    expect(filterEvents(evs, { text: "kill" }).map((e) => e.reason)).to.deep.equal(["Killing"]);
  });

  it("prints ages, uptimes and memory compactly", () => {
    const now = Date.parse("2026-01-01T01:00:00Z");
    expect(age("2026-01-01T00:59:15Z", now)).to.equal("45s");
    expect(age("2026-01-01T00:30:00Z", now)).to.equal("30m");
    expect(uptime(3725)).to.equal("1h2m");
    expect(formatMemory(1536 * 2 ** 20)).to.equal("1.5Gi");
  });
});

describe("dashboard routes", () => {
  it("parses view and pod hashes and falls back to the overview", () => {
    expect(parseHash("#/nodes")).to.deep.equal({ view: "nodes" });
    expect(parseHash("#/pods/default/web-1")).to.deep.equal({ view: "pod", namespace: "default", name: "web-1" });
    expect(parseHash("#/nope")).to.deep.equal({ view: "overview" });
    expect(hrefOf({ view: "pod", namespace: "a b", name: "x" })).to.equal("#/pods/a%20b/x");
  });
});

describe("dashboard formatting › jobs", () => {
  const job = (spec: Partial<Job["spec"]>, status: Job["status"] = {}): Job => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec: { template: { spec: { containers: [] } }, ...spec }, status });
  it("shows a Job's status and completions as kubectl does", () => {
    expect(jobStatus(job({}, { conditions: [{ type: "Complete", status: "True" }] }))).to.equal("Complete");
    expect(jobStatus(job({}, { conditions: [{ type: "FailureTarget", status: "True" }, { type: "Failed", status: "True" }] }))).to.equal("Failed");
    expect(jobStatus(job({}, { conditions: [{ type: "Suspended", status: "True" }] }))).to.equal("Suspended");
    expect(jobStatus(job({}))).to.equal("Running");
    expect(jobCompletions(job({ completions: 5 }, { succeeded: 2 }))).to.equal("2/5");
    expect(jobCompletions(job({ parallelism: 3 }))).to.equal("0/1 of 3");
  });
  it("routes #/sets-jobs to the Sets & Jobs view", () => {
    expect(parseHash("#/sets-jobs")).to.deep.equal({ view: "sets-jobs" });
    expect(hrefOf({ view: "sets-jobs" })).to.equal("#/sets-jobs");
  });
});
