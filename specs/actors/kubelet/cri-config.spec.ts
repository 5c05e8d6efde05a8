import { expect } from "chai";
import type { ContainerConfig } from "../../../actors/kubelet/engines/types.ts";
import { containerConfig, resourcesFor, mountsFor } from "../../../actors/kubelet/engines/cri/config.ts";
import { mayTurnOomKilled, OOM_SETTLE_MS } from "../../../actors/kubelet/engines/cri.ts";
import { containerUsage } from "../../../actors/kubelet/engines/cri/stats.ts";

const scope = { cluster: "c1", nodeName: "n1", logRoot: "/logs" };
const pod = { uid: "u1", namespace: "ns", name: "p" };
const base: ContainerConfig = { name: "main", image: "busybox", env: {}, ports: [], imagePullPolicy: "IfNotPresent", init: false, attempt: 0 };

describe("cri engine container config", () => {
  describe("resourcesFor", () => {
    it("takes cpu shares from the request, the quota from the limit over a 100 ms period, and the memory limit in bytes", () => {
      expect(resourcesFor({ cpuRequestMillis: 250, cpuMillis: 500, memoryBytes: 64 << 20 })).to.deep.equal({ cpu_period: 100_000, cpu_quota: 50_000, cpu_shares: 256, memory_limit_in_bytes: 64 << 20 });
    });
    it("uses the limit for shares when no request is given, and the kernel minimum of 2 shares when neither is", () => {
      expect(resourcesFor({ cpuMillis: 1000 }).cpu_shares).to.equal(1024);
      expect(resourcesFor({})).to.deep.equal({ cpu_period: 100_000, cpu_quota: 0, cpu_shares: 2 });
    });
    it("passes the QoS class's oom_score_adj when the kubelet gives one", () => {
      expect(resourcesFor({ oomScoreAdj: 1000 }).oom_score_adj).to.equal(1000);
      expect(resourcesFor({})).to.not.have.property("oom_score_adj");
    });
    it("gives a tiny cpu limit at least 1 ms of quota and keeps shares within the kernel's range", () => {
      expect(resourcesFor({ cpuMillis: 1 }).cpu_quota).to.equal(1000);
      expect(resourcesFor({ cpuRequestMillis: 1 }).cpu_shares).to.equal(2);
      expect(resourcesFor({ cpuRequestMillis: 1_000_000 }).cpu_shares).to.equal(262_144);
    });
  });

  describe("mounts", () => {
    it("turns the kubelet's host mounts into CRI bind mounts with readonly, private propagation and no relabelling", () => {
      const mounts = [
        { source: "/var/lib/k/volumes/u1/cfg", target: "/etc/cfg", readOnly: true },
        { source: "/var/lib/k/volumes/u1/scratch", target: "/scratch", readOnly: false },
      ];
      expect(mountsFor({ mounts })).to.deep.equal([
        { container_path: "/etc/cfg", host_path: "/var/lib/k/volumes/u1/cfg", readonly: true, selinux_relabel: false, propagation: "PROPAGATION_PRIVATE" },
        { container_path: "/scratch", host_path: "/var/lib/k/volumes/u1/scratch", readonly: false, selinux_relabel: false, propagation: "PROPAGATION_PRIVATE" },
      ]);
      const cfg = containerConfig(scope, pod, { ...base, mounts }, "sha256:1");
      expect(cfg.mounts!.map((m) => [m.container_path, m.readonly])).to.deep.equal([["/etc/cfg", true], ["/scratch", false]]);
    });
    it("sends no mounts for a container without volumes", () => {
      expect(containerConfig(scope, pod, base, "sha256:1").mounts).to.deep.equal([]);
    });
  });
});

describe("cri engine exit views", () => {
  const exited = (exitCode: number, reason: string, finishedAt: string) => ({ id: "c", pod, name: "main", attempt: 0, init: false, state: "exited" as const, image: "busybox", imageID: "sha256:1", exitCode, reason, finishedAt });
  const end = "2026-01-01T00:00:00Z";
  const at = (ms: number) => Date.parse(end) + ms;

  it("looks again at a SIGKILL exit for a moment, since containerd may learn of the OOM kill after the exit", () => {
    expect(mayTurnOomKilled(exited(137, "Error", end), at(500))).to.equal(true);
    expect(mayTurnOomKilled(exited(137, "Error", end), at(OOM_SETTLE_MS + 1))).to.equal(false);
  });
  it("keeps other exits and known OOM kills as they are", () => {
    expect(mayTurnOomKilled(exited(137, "OOMKilled", end), at(500))).to.equal(false);
    expect(mayTurnOomKilled(exited(1, "Error", end), at(500))).to.equal(false);
    expect(mayTurnOomKilled({ ...exited(137, "Error", end), state: "running" as const }, at(500))).to.equal(false);
  });
});

describe("cri engine usage", () => {
  const labels = { "flotilla.pod.uid": "u1", "flotilla.pod.namespace": "ns", "flotilla.pod.name": "p", "flotilla.container": "main" };
  it("reads cumulative cpu time and the working set at the runtime's sample time, leaving out containers without numbers", () => {
    const stats = [
      { attributes: { id: "c1", metadata: { name: "main", attempt: 0 }, labels, annotations: {} }, cpu: { timestamp: "1767225600000000000", usage_core_nano_seconds: { value: "1500000000" } }, memory: { timestamp: "1767225600000000000", working_set_bytes: { value: "4096" } } },
      { attributes: { id: "c2", metadata: { name: "gone", attempt: 0 }, labels, annotations: {} }, cpu: null, memory: null },
    ];
    expect(containerUsage(stats, 42)).to.deep.equal([{ id: "c1", pod: { uid: "u1", namespace: "ns", name: "p" }, name: "main", cpuUsageNanos: 1.5e9, memoryWorkingSetBytes: 4096, at: 1767225600000 }]);
  });
});
