/**
 * `npm start` = `flotilla up --example`: the example app is only announced as up once a web pod has
 * reached the backend through the backend Service — on the process engine and on Docker — and a
 * web tier that cannot reach its backend makes it fail with what the web pods answered.
 */
import type { ChildProcess } from "node:child_process";
import type { RunningCluster } from "../../cli/up.ts";
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { up } from "../../cli/up.ts";
import { applyExample, EXAMPLE_FILE } from "../../cli/example.ts";
import { waitFor } from "../harness/cluster.ts";
import { ensureBusyboxImage } from "../harness/images.ts";
import { requireDocker } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BIN = join(ROOT, "bin", "flotilla.mjs");
const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));

/** Runs `flotilla up --example` as a user would, until it says the app is up (or exits). */
function upExample(engine: "process" | "docker") {
  let dir: string;
  let child: ChildProcess | undefined;
  let out = "";
  before(async function () {
    if (engine === "docker") {
      await requireDocker(this);
      await ensureBusyboxImage();
    }
    dir = mkdtempSync(join(tmpdir(), "flotilla-example-"));
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
      await exited(child);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`prints the backend's answer through the web pods before it says the app is up (${engine} engine)`, async () => {
    const args = ["up", "--example", "--engine", engine, "--data-dir", join(dir, "data"), "--port", "0", "--cluster", runCluster("ex")];
    child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, HOME: dir, KUBECONFIG: "", FLOTILLA_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    await waitFor(() => out.includes("The example app is up") || child!.exitCode !== null, { timeoutMs: 150_000, what: "the example app" });
    expect(child.exitCode, out).to.equal(null);
    const backendLine = out.split("\n").findIndex((l) => /cgi-bin\/backend answers: hello from backend backend-/.test(l));
    expect(backendLine, out).to.be.greaterThan(-1);
    expect(backendLine).to.be.lessThan(out.split("\n").findIndex((l) => l.includes("The example app is up")));
    child.kill("SIGINT");
    await exited(child);
    expect(out).to.include("stopped; the cluster's state is kept in");
  });
}

describe("the example app (npm start)", function () {
  this.timeout(240_000);

  describe("on the process engine", () => upExample("process"));
  describe("on the docker engine", () => upExample("docker"));

  describe("when the web pods cannot reach the backend", () => {
    let dir: string;
    let c: RunningCluster | undefined;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "flotilla-example-"));
      c = await up({ dataDir: join(dir, "data"), nodes: 1, engine: "process", port: 0, quiet: true, cluster: runCluster("ex") });
    });
    after(async () => {
      await c?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("fails with the web pods' last answer instead of saying the app is up", async () => {
      // The backend Service selects no pod: the web pods' CGI answers "backend unreachable".
      const broken = join(dir, "web-app.yaml");
      writeFileSync(broken, readFileSync(EXAMPLE_FILE, "utf8").replace("  selector: { app: backend }", "  selector: { app: nobody }"));
      const lines: string[] = [];
      const err = await applyExample(c!, { file: broken, print: (s) => lines.push(s), backendTimeoutMs: 5_000 }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.match(/cgi-bin\/backend did not give the backend's page/).and.match(/last answer: backend unreachable at 127\.96\./);
      expect(lines.join("\n")).to.not.include("The example app is up");
    });
  });
});
