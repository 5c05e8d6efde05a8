/**
 * `flotilla up --self-hosted --engine docker`: the control plane runs as static pods of node-1 from
 * the flotilla image, is listed as mirror pods, survives a `docker kill` of its scheduler and a
 * `kubectl delete` of a mirror pod, and leaves no container behind after Ctrl-C.
 */
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../harness/cluster.ts";
import { requireDocker } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";
import { buildImage } from "../../cli/image-build.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BIN = join(ROOT, "bin", "flotilla.mjs");
const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();

describe("flotilla up --self-hosted --engine docker", function () {
  this.timeout(300_000);
  const cluster = runCluster("sh");
  const image = `flotilla:spec-${cluster}`;
  let dir = "";
  let child: ChildProcess | undefined;
  let out = "";
  const data = () => join(dir, "data");
  const kubectl = (...args: string[]) => execFileSync("kubectl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KUBECONFIG: join(data(), "kubeconfig") } });
  const containers = (all = false) => docker("ps", ...(all ? ["-a"] : []), "-q", "--filter", `label=flotilla.cluster=${cluster}`).split("\n").filter(Boolean);
  /** The running container of a control-plane component (not its sandbox). */
  const running = (component: string) =>
    docker("ps", "-q", "--filter", `label=flotilla.cluster=${cluster}`, "--filter", `label=flotilla.pod.name=${component}-node-1`, "--filter", `label=flotilla.container=${component}`).split("\n").filter(Boolean);

  before(async function () {
    await requireDocker(this);
    dir = mkdtempSync(join(tmpdir(), "flotilla-up-self-"));
    await buildImage({ tag: image });
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
      await exited(child);
    }
    // Only after a failed stop is anything left.
    const left = containers(true);
    if (left.length) docker("rm", "-f", ...left);
    execFileSync("docker", ["rmi", "-f", image], { stdio: "ignore" });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the control plane as mirror pods in kube-system", async () => {
    const args = ["up", "--self-hosted", "--engine", "docker", "--image", image, "--data-dir", data(), "--port", "0", "--cluster", cluster];
    child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, HOME: dir, KUBECONFIG: "", FLOTILLA_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    await waitFor(() => out.includes("Flotilla is up") || child!.exitCode !== null, { timeoutMs: 180_000, what: "flotilla up --self-hosted" });
    expect(child.exitCode, out).to.equal(null);
    const pods = await waitFor(() => {
      const list = JSON.parse(kubectl("get", "pods", "-n", "kube-system", "-o", "json")) as { items: { metadata: { name: string; annotations?: Record<string, string> }; status?: { phase?: string } }[] };
      const names = list.items.filter((p) => p.status?.phase === "Running").map((p) => p.metadata.name).sort();
      return names.length === 4 ? list.items : undefined;
    }, { timeoutMs: 60_000, what: "4 Running control-plane pods" });
    expect(pods.map((p) => p.metadata.name).sort()).to.deep.equal(["api-server-node-1", "controllers-node-1", "scheduler-node-1", "store-node-1"]);
    for (const p of pods) {
      expect(p.metadata.annotations?.["kubernetes.io/config.mirror"], p.metadata.name).to.match(/^[0-9a-f]{32}$/);
      expect(p.metadata.annotations?.["kubernetes.io/config.source"]).to.equal("file");
    }
    expect(running("scheduler")).to.have.length(1);
  });

  it("restarts a killed scheduler container, and a new Deployment still gets scheduled", async () => {
    const [killed] = running("scheduler");
    docker("kill", killed!);
    const restarted = await waitFor(() => {
      const ids = running("scheduler");
      return ids.length === 1 && ids[0] !== killed ? ids[0] : undefined;
    }, { timeoutMs: 60_000, what: "a new scheduler container" });
    expect(restarted).to.not.equal(killed);
    await waitFor(() => Number(kubectl("get", "pod", "-n", "kube-system", "scheduler-node-1", "-o", "jsonpath={.status.containerStatuses[0].restartCount}")) >= 1, { timeoutMs: 30_000, what: "restartCount 1" });
    kubectl("create", "deployment", "after-kill", "--image=flotilla-busybox:latest", "--", "sleep", "1000");
    await waitFor(() => kubectl("get", "pods", "-l", "app=after-kill", "-o", "jsonpath={.items[*].spec.nodeName}").trim() === "node-1", { timeoutMs: 90_000, what: "the new Deployment's pod scheduled" });
  });

  it("keeps the static pod running when its mirror pod is deleted through the API", async () => {
    const [before] = running("scheduler");
    const uid = kubectl("get", "pod", "-n", "kube-system", "scheduler-node-1", "-o", "jsonpath={.metadata.uid}");
    kubectl("delete", "pod", "-n", "kube-system", "scheduler-node-1", "--timeout=30s");
    await waitFor(() => {
      const [now, phase] = kubectl("get", "pod", "-n", "kube-system", "scheduler-node-1", "-o", "jsonpath={.metadata.uid} {.status.phase}").split(" ");
      return now && now !== uid && phase === "Running";
    }, { timeoutMs: 30_000, what: "the mirror pod published again" });
    expect(running("scheduler")).to.deep.equal([before]);
  });

  it("refuses an edit of a mirror pod's spec through the API", () => {
    let err = "";
    try {
      kubectl("patch", "pod", "-n", "kube-system", "scheduler-node-1", "--type", "merge", "-p", JSON.stringify({ spec: { activeDeadlineSeconds: 5 } }));
    } catch (e) {
      err = String((e as { stderr?: string }).stderr ?? e);
    }
    expect(err).to.match(/mirror pod is read-only/);
  });

  it("stops every container it started on Ctrl-C", async () => {
    child!.kill("SIGINT");
    await exited(child!);
    expect(out).to.include("stopped; the cluster's state is kept in");
    expect(containers(true)).to.deep.equal([]);
  });
});
