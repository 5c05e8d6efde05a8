import { expect } from "chai";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ProcessCgroups, limitWrites, cpuShares, sharesToWeight } from "../../../actors/kubelet/engines/process-cgroup.ts";
import { quietLog } from "../../harness/quiet-log.ts";

describe("process engine cgroups", () => {
  describe("limitWrites", () => {
    it("turns a cpu limit into a CFS quota, a cpu request into shares and a memory limit into limit_in_bytes (v1)", () => {
      const w = limitWrites("v1", { cpuMillis: 500, cpuRequestMillis: 250, memoryBytes: 64 << 20 }, true);
      const v = Object.fromEntries(w.map((x) => [x.file, x.value]));
      expect(v).to.deep.equal({
        "cpu.shares": "256",
        "cpu.cfs_period_us": "100000",
        "cpu.cfs_quota_us": "50000",
        "memory.limit_in_bytes": String(64 << 20),
        "memory.memsw.limit_in_bytes": String(64 << 20),
      });
    });

    it("leaves cpu unbounded and memory unset without limits", () => {
      const v = Object.fromEntries(limitWrites("v1", {}).map((x) => [x.file, x.value]));
      expect(v).to.deep.equal({ "cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1" });
      const v2 = Object.fromEntries(limitWrites("v2", {}).map((x) => [x.file, x.value]));
      expect(v2).to.deep.equal({ "cpu.weight": "39", "cpu.max": "max 100000" });
    });

    it("writes cpu.max, cpu.weight, memory.max and no swap on cgroup v2", () => {
      const v = Object.fromEntries(limitWrites("v2", { cpuMillis: 1500, memoryBytes: 1 << 30 }).map((x) => [x.file, x.value]));
      expect(v).to.deep.equal({ "cpu.weight": String(sharesToWeight(cpuShares(1500))), "cpu.max": "150000 100000", "memory.max": String(1 << 30), "memory.swap.max": "0" });
      expect(cpuShares(1)).to.equal(2);
    });
  });

  describe("on a cgroup v2 tree", () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), "flotilla-cg2-"));
      writeFileSync(join(root, "cgroup.controllers"), "cpuset cpu io memory pids\n");
      writeFileSync(join(root, "cgroup.subtree_control"), "");
      for (const d of ["flotilla", "flotilla/c1", "flotilla/c1/n1"]) {
        mkdirSync(join(root, d), { recursive: true });
        writeFileSync(join(root, d, "cgroup.subtree_control"), "");
      }
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it("enables cpu and memory down the subtree, writes the limits and joins through cgroup.procs", () => {
      const cg = new ProcessCgroups({ root, cluster: "c1", nodeName: "n1", log: quietLog, mode: "v2" });
      const prefix = cg.create("ctr1", { cpuMillis: 200, memoryBytes: 1 << 24 });
      expect(readFileSync(join(root, "cgroup.subtree_control"), "utf8")).to.equal("+cpu +memory");
      expect(readFileSync(join(root, "flotilla/c1/n1/cgroup.subtree_control"), "utf8")).to.equal("+cpu +memory");
      const dir = join(root, "flotilla/c1/n1/ctr1");
      expect(readFileSync(join(dir, "memory.max"), "utf8")).to.equal(String(1 << 24));
      expect(readFileSync(join(dir, "cpu.max"), "utf8")).to.equal("20000 100000");
      expect(prefix.slice(-2)).to.deep.equal([join(dir, "cgroup.procs"), "--"]);
    });

    it("reads usage and an OOM kill from cpu.stat, memory.current, memory.stat and memory.events", () => {
      const cg = new ProcessCgroups({ root, cluster: "c1", nodeName: "n1", log: quietLog, mode: "v2" });
      cg.create("ctr1", { memoryBytes: 1 << 24 });
      const dir = join(root, "flotilla/c1/n1/ctr1");
      writeFileSync(join(dir, "cpu.stat"), "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
      writeFileSync(join(dir, "memory.current"), "10000\n");
      writeFileSync(join(dir, "memory.stat"), "anon 6000\ninactive_file 3000\nactive_file 1000\n");
      writeFileSync(join(dir, "memory.events"), "low 0\nhigh 0\nmax 4\noom 1\noom_kill 0\n");
      expect(cg.usage("ctr1")).to.deep.equal({ cpuUsageNanos: 2_500_000, memoryWorkingSetBytes: 7000 });
      expect(cg.oomKilled("ctr1")).to.equal(false);
      writeFileSync(join(dir, "memory.events"), "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n");
      expect(cg.oomKilled("ctr1")).to.equal(true);
    });

    it("removes the container's cgroup once it is empty", async () => {
      const cg = new ProcessCgroups({ root, cluster: "c1", nodeName: "n1", log: quietLog, mode: "v2" });
      cg.create("ctr1", {});
      // A real cgroupfs directory holds only kernel files; the tmp stand-in must be emptied first.
      const dir = join(root, "flotilla/c1/n1/ctr1");
      for (const f of ["cpu.weight", "cpu.max"]) rmSync(join(dir, f));
      await cg.remove("ctr1");
      expect(existsSync(dir)).to.equal(false);
    });
  });
});
