/**
 * The real `flotilla` CLI as child processes (`node bin/flotilla.mjs …`): a whole cluster from
 * `up` on the process engine in a temp data dir, and actors started one per process.
 */
import type { ChildProcess } from "node:child_process";
import type { Pod } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../runtime/nats-server.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { getUntilOk } from "../../cli/example.ts";
import { CONTROL_PLANE } from "../../actors/registry.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BIN = join(ROOT, "bin", "flotilla.mjs");
const EXAMPLE = join(ROOT, "examples", "web-app.yaml");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, KUBECONFIG: "", FLOTILLA_LOG: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(t);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A long-running CLI process (up, actor, node join) and its output so far. */
function background(args: string[], env: Record<string, string> = {}): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, KUBECONFIG: "", FLOTILLA_LOG: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return { child, out: () => out };
}

/** Process-engine containers outlive their kubelet by design: stop the ones under this data dir. */
function killPodProcesses(dataDir: string): void {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes(join(dataDir, "nodes"))) process.kill(-Number(pid), "SIGKILL");
    } catch {
      // gone already, or not ours to read
    }
  }
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));

describe("flotilla CLI", function () {
  this.timeout(90_000);
  let dir: string;
  let port: number;
  let upProc: ReturnType<typeof background> | undefined;
  const env = () => ({ FLOTILLA_DATA_DIR: dir });
  const run = (args: string[]) => cli(args, env());
  const startUp = async () => {
    upProc = background(["up", "--engine", "process", "--data-dir", dir, "--port", String(port)], env());
    await waitFor(() => upProc!.out().includes("Flotilla is up") || upProc!.child.exitCode !== null, { timeoutMs: 30_000, what: "flotilla up" });
    expect(upProc.child.exitCode, upProc.out()).to.equal(null);
  };

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "flotilla-cli-"));
    port = await freePort();
    await startUp();
  });

  after(async function () {
    if (upProc && upProc.child.exitCode === null) {
      upProc.child.kill("SIGTERM");
      await exited(upProc.child);
    }
    killPodProcesses(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies the example, follows its rollout and answers through the Service", async function () {
    const applied = await run(["apply", "-f", EXAMPLE]);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.stdout).to.include("deployment.apps/web created").and.include("service/backend created");
    const status = await run(["rollout", "status", "deployment/web", "--timeout", "60"]);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.include('deployment "web" successfully rolled out');
    const svc = JSON.parse((await run(["get", "svc", "web", "-o", "json"])).stdout) as { spec: { clusterIP: string; ports: { port: number }[] } };
    const url = `http://${svc.spec.clusterIP}:${svc.spec.ports[0]!.port}/`;
    expect(await getUntilOk(url, 20_000)).to.include("Flotilla web");
    expect(await getUntilOk(`${url}cgi-bin/backend`, 20_000)).to.include("hello from backend");
    const table = await run(["get", "deploy", "web"]);
    expect(table.stdout).to.match(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/).and.match(/web\s+2\/2\s+2\s+2/);
  });

  it("prints the logs of a Deployment's pod", async function () {
    const logs = await run(["logs", "deployment/web"]);
    expect(logs.code, logs.stderr).to.equal(0);
    expect(logs.stdout).to.include("listening on");
  });

  it("scales a Deployment and replays the changes after a revision with events --since", async function () {
    const rv = (JSON.parse((await run(["get", "deploy", "web", "-o", "json"])).stdout) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const scaled = await run(["scale", "deployment/web", "--replicas", "1"]);
    expect(scaled.stdout).to.include("deployment.apps/web scaled");
    await waitFor(async () => (await run(["get", "pods", "-l", "app=web", "-o", "name"])).stdout.trim().split("\n").length === 1, { timeoutMs: 30_000, what: "one web pod" });
    const feed = await run(["events", "--since", rv]);
    expect(feed.code, feed.stderr).to.equal(0);
    const revs = feed.stdout.split("\n").filter((l) => /^\d+ /.test(l)).map((l) => Number(l.split(" ")[0]));
    expect(revs.length).to.be.greaterThan(0);
    expect(Math.min(...revs)).to.be.greaterThan(Number(rv));
    expect(feed.stdout).to.match(/PUT deployments\/default\/web/).and.match(/DEL pods\/default\/web-/);
    expect(feed.stdout).to.match(/Killing: Stopping container web/);
  });

  it("lists every running actor and which ones lead with get actors", async function () {
    const r = await run(["get", "actors"]);
    expect(r.code, r.stderr).to.equal(0);
    const rows = r.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/));
    const kinds = rows.map((c) => c[0]);
    for (const k of [...CONTROL_PLANE, "kubelet", "proxy"]) expect(kinds, k).to.include(k);
    expect(rows.find((c) => c[0] === "scheduler")?.[3]).to.equal("yes");
    expect(rows.find((c) => c[0] === "store")?.[3]).to.equal("-");
  });

  it("finds the cluster for get actors and events from KUBECONFIG alone, as kubectl does", async function () {
    // No data dir, no --nats: only the kubeconfig `up --data-dir` wrote says where the cluster is.
    const elsewhere = mkdtempSync(join(tmpdir(), "flotilla-elsewhere-"));
    try {
      const only = { KUBECONFIG: join(dir, "kubeconfig"), FLOTILLA_DATA_DIR: elsewhere, HOME: elsewhere };
      const actors = await cli(["get", "actors"], only);
      expect(actors.code, actors.stderr).to.equal(0);
      const kinds = actors.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]);
      for (const k of ["scheduler", "kubelet", "api-server"]) expect(kinds, k).to.include(k);
      const events = await cli(["events"], only);
      expect(events.code, events.stderr).to.equal(0);
      expect(events.stdout).to.match(/Scheduled/);
      const kubectl = await new Promise<number | null>((done) => spawn("/usr/bin/kubectl", ["get", "nodes"], { env: { ...process.env, ...only }, stdio: "ignore" }).on("close", done));
      expect(kubectl, "kubectl reads the same kubeconfig").to.equal(0);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("writes an admin kubeconfig with a client certificate (system:masters) and keeps the token file working", async function () {
    const kc = readFileSync(join(dir, "kubeconfig"), "utf8");
    expect(kc).to.match(/client-certificate-data: /);
    expect(kc).not.to.match(/^\s+token: /m);
    const kubectl = (args: string[]) => new Promise<Run>((done) => {
      const c = spawn("/usr/bin/kubectl", args, { env: { ...process.env, KUBECONFIG: join(dir, "kubeconfig") } });
      let stdout = "";
      let stderr = "";
      c.stdout.on("data", (d) => (stdout += d));
      c.stderr.on("data", (d) => (stderr += d));
      c.on("close", (code) => done({ code, stdout, stderr }));
    });
    const who = await kubectl(["auth", "whoami", "-o", "json"]);
    expect(who.code, who.stderr).to.equal(0);
    const info = JSON.parse(who.stdout).status.userInfo as { username: string; groups: string[] };
    expect(info.username).to.equal("kubernetes-admin");
    expect(info.groups).to.include("system:masters");
    const viewer = readFileSync(join(dir, "tokens.csv"), "utf8").split("\n").find((l) => l.split(",")[1] === "viewer")!.split(",")[0]!;
    const asViewer = await kubectl(["--token", viewer, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    expect(asViewer.stdout).to.equal("viewer");
    const dash = await run(["dashboard"]);
    expect(dash.code, dash.stderr).to.equal(0);
    expect(dash.stdout).to.include("tokens.csv");
    for (const line of readFileSync(join(dir, "tokens.csv"), "utf8").split("\n").filter((l) => l)) expect(dash.stdout).not.to.include(line.split(",")[0]);
  });

  it("names the file, document and field of a rejected manifest", async function () {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken}\nspec:\n  replicas: -1\n  selector: {matchLabels: {app: x}}\n  template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: i}]}}\n");
    const r = await run(["apply", "-f", bad]);
    expect(r.code).to.not.equal(0);
    expect(r.stdout).to.include("configmap/fine created");
    expect(r.stderr).to.include(`${bad}: document 1 (Deployment broken)`).and.include("field spec.replicas");
  });

  it("answers an unknown command with usage and an unreachable api-server with one line", async function () {
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).to.not.equal(0);
    expect(unknown.stderr).to.include("unknown command").and.include("flotilla --help");
    const kc = join(dir, "dead-kubeconfig");
    const closed = await freePort();
    writeFileSync(kc, readFileSync(join(dir, "kubeconfig"), "utf8").replace(/https:\/\/127\.0\.0\.1:\d+/, `https://127.0.0.1:${closed}`));
    const r = await run(["get", "pods", "--kubeconfig", kc]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.include(`cannot reach the api-server at https://127.0.0.1:${closed}`).and.include("flotilla up");
  });

  it("deletes the app, stops with down and keeps the cluster's state across up", async function () {
    const del = await run(["delete", "-f", EXAMPLE, "--wait"]);
    expect(del.code, del.stderr).to.equal(0);
    expect(del.stdout).to.include('deployment.apps "web" deleted');
    await waitFor(async () => (await run(["get", "pods", "-o", "name"])).stdout.trim() === "", { timeoutMs: 30_000, what: "no pods" });
    const down = await run(["down", "--data-dir", dir]);
    expect(down.stdout).to.include("cluster stopped");
    await exited(upProc!.child);
    const status = await run(["status", "--data-dir", dir]);
    expect(status.code).to.not.equal(0);
    await startUp();
    const cm = await run(["get", "configmap", "fine", "-o", "name"]);
    expect(cm.stdout.trim()).to.equal("configmap/fine");
    const st = await run(["status", "--data-dir", dir]);
    expect(st.stdout).to.match(/nodes:\s+\d\/1 Ready|nodes:\s+1\/1 Ready/);
  });
});

describe("flotilla actor", function () {
  this.timeout(60_000);
  let tc: TestCluster;
  const procs: ChildProcess[] = [];

  before(async function () {
    tc = await startTestCluster({ cluster: "default" });
  });
  after(async function () {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await Promise.all(procs.map(exited));
    await tc.stop();
  });

  it("lets a second scheduler process take over when the leading one is killed", async function () {
    const nats = ["--nats", tc.url];
    const node = background(["node", "join", ...nats, "--name", "sim-1", "--engine", "simulated"]);
    procs.push(node.child);
    const first = background(["actor", "scheduler", ...nats]);
    procs.push(first.child);
    const leaders = async () => {
      const r = await cli(["get", "actors", ...nats]);
      return r.stdout.split("\n").filter((l) => l.startsWith("scheduler ")).map((l) => l.split(/\s+/));
    };
    await waitFor(async () => (await leaders()).some((c) => c[3] === "yes"), { timeoutMs: 20_000, what: "a leading scheduler" });
    const second = background(["actor", "scheduler", ...nats]);
    procs.push(second.child);
    await waitFor(async () => (await leaders()).length === 2, { timeoutMs: 20_000, what: "two schedulers" });
    const [leader] = (await leaders()).filter((c) => c[3] === "yes");
    expect(leader?.[2]).to.equal(`${leader![2]!.split(":")[0]}:${first.child.pid}`);
    first.child.kill("SIGKILL");
    await exited(first.child);
    await tc.store.create("pods", "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "after-failover", namespace: "default" },
      spec: { containers: [{ name: "c", image: "flotilla-busybox:latest" }] },
    } as Pod);
    const bound = await waitFor(async () => (await tc.store.get<Pod>("pods", "default", "after-failover")).spec.nodeName, { timeoutMs: 30_000, what: "the pod bound" });
    expect(bound).to.equal("sim-1");
    const now = await leaders();
    expect(now).to.have.length(1);
    expect(now[0]![2]).to.match(new RegExp(`:${second.child.pid}$`));
    expect(now[0]![3]).to.equal("yes");
  });
});
