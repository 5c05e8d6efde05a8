import type { TestCluster } from "../harness/cluster.ts";
import type { Container, Node } from "../../bus/resources.ts";
import type { Host } from "../../runtime/host.ts";
import type { NodeMetricsReport, PodMetricsReport } from "../../bus/metrics.ts";
import { subjects } from "../../bus/subjects.ts";
import { decode } from "../../bus/codec.ts";
import type { PrivateContainerd } from "../../actors/kubelet/engines/cri/containerd-process.ts";
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { kubeletBehaviours, podOf, waitPod, running, readLogs } from "../actors/kubelet/behaviours.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { startContainerd } from "../../actors/kubelet/engines/cri/containerd-process.ts";
import { CriClient } from "../../actors/kubelet/engines/cri/client.ts";
import { BUSYBOX_IMAGE } from "../../actors/kubelet/engines/cri/image-archive.ts";
import { requireContainerd } from "../harness/optional.ts";

/** The pods' subnet of this spec's private containerd (a bridge of its own). */
const SUBNET = "10.88.250.0/24";

describe("kubelet on the cri engine (a private containerd)", function () {
  this.timeout(60_000);
  const nodeName = `cri-node-${Date.now().toString(36)}`;
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-cri-spec-"));
  let ctrd: PrivateContainerd | undefined;
  let cri: CriClient;
  let cluster: TestCluster;

  before(async function () {
    requireContainerd(this);
    this.timeout(120_000);
    ctrd = await startContainerd({ dataDir: join(dataDir, "containerd"), subnet: SUBNET });
    cri = new CriClient(ctrd.socket);
    cluster = await startTestCluster();
  });
  after(async function () {
    this.timeout(120_000);
    await cluster?.stop();
    cri?.close();
    await ctrd?.stop({ removeData: true });
    execFileSync("rm", ["-rf", dataDir]);
  });

  // A lease of 10 s (not the docker spec's 2 s): containerd's calls take seconds on a busy machine,
  // and a kubelet fencing itself in the middle of the re-adoption behaviour is not what it checks.
  const kubeletOpts = (suffix = "") => ({ nodeName: `${nodeName}${suffix}`, engine: "cri" as const, criSocket: ctrd!.socket, dataDir: join(dataDir, "nodes", `${nodeName}${suffix}`), backoffBaseMs: 200, leaseDurationSeconds: 10, renewIntervalMs: 300 });

  kubeletBehaviours(
    {
      engine: "cri",
      sh: (name: string, script: string, extra: Partial<Container> = {}): Container => ({
        name,
        image: BUSYBOX_IMAGE,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", "-c", script],
        // A CRI pod sandbox has its own network namespace: the declared port is the real one.
        env: [{ name: "PORT", value: "8080" }, { name: "PORT_8080", value: "8080" }],
        ...extra,
      }),
      async isRunning(id) {
        const { status } = await cri.runtime("ContainerStatus", { container_id: id }).catch(() => ({ status: null }));
        return status?.state === "CONTAINER_RUNNING";
      },
    },
    () => cluster,
    () => kubeletOpts(),
  );

  describe("containerd specifics", () => {
    let host: Host;
    const node = () => `${nodeName}-x`;
    before(async function () {
      if (!ctrd) this.skip();
      host = await cluster.startActors([{ def: kubelet, opts: { ...kubeletOpts("-x"), stopPodsOnExit: true, metricsIntervalMs: 500 } }]);
    });
    after(async () => host?.stop());

    it("reports the runtime's own version as containerRuntimeVersion", async () => {
      const installed = /containerd \S+ v?(\d+\.\d+\.\d+)/.exec(execFileSync("containerd", ["--version"], { encoding: "utf8" }))![1];
      const n = await waitFor(() => cluster.store.get<Node>("nodes", undefined, node()).catch(() => undefined), { what: "node" });
      expect(n.status!.nodeInfo!.containerRuntimeVersion).to.equal(`containerd://${installed}`);
    });

    it("gives the pod an address from the CNI subnet that the host reaches", async () => {
      const p = podOf(node(), [{ name: "web", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "mkdir -p www && echo hello-over-cni > www/index.html && exec httpd -f -p 8080 -h www"] }]);
      await cluster.store.create("pods", "default", p);
      const cur = await waitPod(cluster, p, running, "running");
      const ip = cur.status!.podIP!;
      expect(ip).to.match(/^10\.88\.250\.\d+$/);
      const body = await waitFor(async () => {
        const r = await fetch(`http://${ip}:8080/`).catch(() => undefined);
        return r?.ok ? r.text() : undefined;
      }, { what: "an answer from the pod's address" });
      expect(body).to.equal("hello-over-cni\n");
    });

    it("keeps stdout and stderr in the CRI log format and serves them joined, with timestamps on request", async () => {
      // A line longer than containerd's 16 KiB limit is written as partial (P) pieces; a last line
      // without a newline is written when the container ends.
      const script = "echo out-line; echo err-line >&2; head -c 20000 /dev/zero | tr '\\0' x; echo; printf no-newline";
      const p = podOf(node(), [{ name: "talk", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script] }], { restartPolicy: "Never" });
      await cluster.store.create("pods", "default", p);
      const cur = await waitPod(cluster, p, (x) => x.status?.phase === "Succeeded", "Succeeded");
      const id = cur.status!.containerStatuses![0]!.containerID!.replace(/^[a-z]+:\/\//, "");
      const { status } = await cri.runtime("ContainerStatus", { container_id: id });
      const file = readFileSync(status!.log_path, "utf8");
      expect(file).to.match(/^\S+Z stdout F out-line$/m);
      expect(file).to.match(/^\S+Z stderr F err-line$/m);
      expect(file).to.match(/^\S+Z stdout P x+$/m);
      const text = await readLogs(cluster, node(), { namespace: "default", pod: p.metadata.name! });
      // stdout and stderr are two pipes: where the stderr line falls among the stdout lines is not
      // promised (on a loaded machine it may come after all of them); stdout keeps its own order.
      const joined = text.split("\n");
      expect(joined.filter((l) => l === "err-line")).to.have.length(1);
      expect(joined.filter((l) => l !== "err-line")).to.deep.equal(["out-line", "x".repeat(20000), "no-newline"]);
      const stamped = await readLogs(cluster, node(), { namespace: "default", pod: p.metadata.name!, timestamps: true, tailLines: 4 });
      const lines = stamped.split("\n");
      expect(lines).to.have.length(4);
      for (const l of lines) expect(l.slice(0, 40)).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /);
      expect(lines.map((l) => l.replace(/^\S+Z /, "")).filter((l) => l !== "err-line")).to.deep.equal(["out-line", "x".repeat(20000), "no-newline"]);
    });

    it("reports what the container wrote to the default /dev/termination-log as its terminated message", async () => {
      const p = podOf(node(), [{ name: "leaver", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "echo bye > /dev/termination-log; exit 3"] }], { restartPolicy: "Never" });
      await cluster.store.create("pods", "default", p);
      const cur = await waitPod(cluster, p, (x) => x.status?.phase === "Failed", "Failed");
      const t = cur.status!.containerStatuses![0]!.state!.terminated!;
      expect(t.exitCode).to.equal(3);
      expect(t.message).to.equal("bye\n");
    });

    it("enforces cpu and memory limits through the container's cgroups, with cpu shares from the request", async () => {
      const script = "echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us) shares=$(cat /sys/fs/cgroup/cpu/cpu.shares); exec sleep 1000";
      const p = podOf(node(), [{ name: "limited", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script], resources: { limits: { cpu: "500m", memory: "64Mi" }, requests: { cpu: "250m" } } }]);
      await cluster.store.create("pods", "default", p);
      await waitPod(cluster, p, running, "running");
      const text = await waitFor(async () => {
        const t = await readLogs(cluster, node(), { namespace: "default", pod: p.metadata.name! });
        return t.includes("mem=") ? t : undefined;
      }, { what: "the limits in the log" });
      expect(text.trim()).to.equal(`mem=${64 * 1024 * 1024} quota=50000 period=100000 shares=256`);
    });

    it("reports a busy container's cpu and memory from the runtime's stats, within its cpu limit", async () => {
      const p = podOf(node(), [{ name: "busy", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "while :; do :; done"], resources: { limits: { cpu: "200m", memory: "32Mi" } } }]);
      const seen: PodMetricsReport[] = [];
      const sub = cluster.nc.subscribe(subjects(cluster.cluster).nodeMetrics(node()), {
        callback: (_e, m) => {
          const found = decode<NodeMetricsReport>(m.data).pods.find((x) => x.name === p.metadata.name);
          if (found) seen.push(found);
        },
      });
      try {
        await cluster.store.create("pods", "default", p);
        await waitPod(cluster, p, running, "running");
        const busy = await waitFor(() => seen.find((r) => (r.containers[0]?.cpuNanoCores ?? 0) > 0), { timeoutMs: 20_000, what: "a metrics report with the busy container's cpu" });
        expect(busy.containers[0]!.name).to.equal("busy");
        expect(busy.containers[0]!.cpuNanoCores).to.be.below(0.4e9);
        expect(busy.containers[0]!.memoryWorkingSetBytes).to.be.above(0).and.below(32 * 2 ** 20);
      } finally {
        sub.unsubscribe();
      }
    });

    it("ranks containers for the kernel's OOM killer by QoS class, as the kubelet does", async () => {
      const script = "echo adj=$(cat /proc/self/oom_score_adj); exec sleep 1000";
      const best = podOf(node(), [{ name: "best", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script] }]);
      const burst = podOf(node(), [{ name: "burst", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script], resources: { requests: { memory: "1Gi" } } }]);
      for (const p of [best, burst]) await cluster.store.create("pods", "default", p);
      const adj = (p: typeof best) =>
        waitFor(async () => /adj=(-?\d+)/.exec(await readLogs(cluster, node(), { namespace: "default", pod: p.metadata.name! }))?.[1], { what: `the oom_score_adj of ${p.metadata.name}` });
      expect(await adj(best)).to.equal("1000");
      expect(Number(await adj(burst))).to.equal(1000 - Math.floor((1000 * 2 ** 30) / totalmem()));
    });

    it("mounts hostPath, memory-backed emptyDir and subPath volumes with their sizes and read-only flags", async () => {
      const hostDir = join(dataDir, "host-path");
      const script = [
        "echo from-pod > /host/written",
        "echo mem=$(grep ' /mem ' /proc/mounts | cut -d' ' -f1,3)",
        "echo size=$(df -k /mem | tail -n 1 | tr -s ' ' | cut -d' ' -f2)",
        "if dd if=/dev/zero of=/mem/big bs=1k count=2048 2>/dev/null; then echo fill=fits; else echo fill=refused; fi",
        "if touch /ro/x 2>/dev/null; then echo ro=writable; else echo ro=readonly; fi",
        "echo in-sub > /sub/f",
        "echo done",
        "exec sleep 1000",
      ].join("; ");
      const p = podOf(node(), [{
        name: "vols", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script],
        volumeMounts: [
          { name: "host", mountPath: "/host" },
          { name: "mem", mountPath: "/mem" },
          { name: "host", mountPath: "/ro", readOnly: true },
          { name: "scratch", mountPath: "/sub", subPath: "a/b" },
        ],
      }], {
        volumes: [
          { name: "host", hostPath: { path: hostDir, type: "DirectoryOrCreate" } },
          { name: "mem", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
          { name: "scratch", emptyDir: {} },
        ],
      });
      await cluster.store.create("pods", "default", p);
      const cur = await waitPod(cluster, p, running, "running");
      const text = await waitFor(async () => {
        const t = await readLogs(cluster, node(), { namespace: "default", pod: p.metadata.name! });
        return t.includes("done") ? t : undefined;
      }, { what: "the volumes in the log" });
      expect(text).to.include("mem=tmpfs tmpfs");
      expect(text).to.include("size=1024");
      expect(text).to.include("fill=refused");
      expect(text).to.include("ro=readonly");
      expect(readFileSync(join(hostDir, "written"), "utf8")).to.equal("from-pod\n");
      const volumes = join(dataDir, "nodes", node(), "kubelet", cluster.cluster, node(), "volumes", cur.metadata.uid!);
      expect(readFileSync(join(volumes, "scratch", "a", "b", "f"), "utf8")).to.equal("in-sub\n");
    });

    it("reports ErrImagePull with the runtime's message for an image that cannot be pulled", async () => {
      const p = podOf(node(), [{ name: "ghost", image: "127.0.0.1:1/flotilla/ghost:1.0", imagePullPolicy: "IfNotPresent" }]);
      await cluster.store.create("pods", "default", p);
      const reasons = new Set<string>();
      const cur = await waitPod(cluster, p, (x) => {
        const r = x.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        if (r) reasons.add(r);
        return reasons.has("ErrImagePull") && reasons.has("ImagePullBackOff");
      }, "ErrImagePull then ImagePullBackOff", 20_000);
      expect(cur.status!.phase).to.equal("Pending");
      expect(cur.status!.containerStatuses![0]!.state!.waiting!.message).to.match(/ghost/);
    });

    it("refuses a missing image under pull policy Never with ErrImageNeverPull", async () => {
      const p = podOf(node(), [{ name: "never", image: "flotilla/absent:9", imagePullPolicy: "Never" }]);
      await cluster.store.create("pods", "default", p);
      await waitPod(cluster, p, (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === "ErrImageNeverPull", "ErrImageNeverPull");
    });
  });
});
