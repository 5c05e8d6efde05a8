/**
 * `flotilla up --engine containerd`: a private containerd under the data dir, a node reporting it,
 * a pod started through kubectl on it, and nothing of it left after Ctrl-C.
 */
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../harness/cluster.ts";
import { requireContainerd } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";
import { killShims, shimPids, unmountUnder } from "../../actors/kubelet/engines/cri/containerd-process.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BIN = join(ROOT, "bin", "flotilla.mjs");
const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));

describe("flotilla up --engine containerd", function () {
  this.timeout(180_000);
  let dir = "";
  let child: ChildProcess | undefined;
  let out = "";
  const data = () => join(dir, "data");
  const kubectl = (...args: string[]) => execFileSync("kubectl", args, { encoding: "utf8", env: { ...process.env, KUBECONFIG: join(data(), "kubeconfig") } });

  before(function () {
    requireContainerd(this);
    dir = mkdtempSync(join(tmpdir(), "flotilla-up-ctrd-"));
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
      await exited(child);
    }
    if (dir) {
      // Only after a failed stop is anything left; clear it so the run's leak check has nothing to find.
      killShims(join(data(), "containerd", "containerd.sock"));
      unmountUnder(join(data(), "containerd"));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs a pod on its own containerd, reports containerd as the runtime, and stops it all on Ctrl-C", async () => {
    const args = ["up", "--engine", "containerd", "--data-dir", data(), "--port", "0", "--cluster", runCluster("ctrd")];
    child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, HOME: dir, KUBECONFIG: "", FLOTILLA_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    await waitFor(() => out.includes("Flotilla is up") || child!.exitCode !== null, { timeoutMs: 90_000, what: "flotilla up" });
    expect(child.exitCode, out).to.equal(null);
    expect(out).to.include("starting a private containerd");
    expect(existsSync(join(data(), "containerd", "containerd.sock"))).to.equal(true);

    expect(kubectl("get", "nodes", "-o", "jsonpath={.items[0].status.nodeInfo.containerRuntimeVersion}")).to.match(/^containerd:\/\/\d+\.\d+\.\d+$/);
    kubectl("run", "hello", "--image=flotilla-busybox:latest", "--image-pull-policy=IfNotPresent", "--command", "--", "sh", "-c", "echo hello from containerd; exec sleep 1000");
    const ip = await waitFor(() => {
      const [phase, podIP] = kubectl("get", "pod", "hello", "-o", "jsonpath={.status.phase} {.status.podIP}").split(" ");
      return phase === "Running" && podIP ? podIP : undefined;
    }, { timeoutMs: 60_000, what: "the pod Running" });
    expect(ip).to.match(/^10\.88\./);
    await waitFor(() => kubectl("logs", "hello").includes("hello from containerd"), { what: "kubectl logs" });

    child.kill("SIGINT");
    await exited(child);
    expect(out).to.include("stopped; the cluster's state is kept in");
    const sock = join(data(), "containerd", "containerd.sock");
    const shims = readFileSync("/proc/self/mounts", "utf8").split("\n").filter((l) => l.includes(join(data(), "containerd")));
    expect(shims, "mounts left under the containerd dir").to.deep.equal([]);
    expect(shimPids(sock), "shims left").to.deep.equal([]);
  });
});
