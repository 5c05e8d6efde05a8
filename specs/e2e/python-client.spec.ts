/**
 * The Kubernetes Python client (Debian's python3-kubernetes 22.6, /usr/bin/python3) against the
 * api-server: the client's own DaemonSet and Job e2e tests, ported (specs/fixtures/python).
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "../fixtures/python/test_batch_apps.py");

function run(env: ApiEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ["-W", "ignore::ResourceWarning", SCRIPT], { env: { ...process.env, HOME: env.home, KUBECONFIG: env.kubeconfig }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const t = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, output });
    });
  });
}

describe("the Kubernetes Python client with DaemonSets and Jobs (e2e)", function () {
  this.timeout(180_000);
  let env: ApiEnv;

  before(async function () {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} (with python3-kubernetes) is required`);
    env = await startApiEnv();
    await env.tc.startActors([
      { def: ACTORS.scheduler! },
      { def: ACTORS["daemonset-controller"]! },
      { def: ACTORS["job-controller"]! },
      { def: ACTORS["garbage-collector"]! },
      { def: ACTORS.kubelet!, opts: { nodeName: "py-1", engine: "simulated", startLatencyMs: 20 } },
    ]);
  });
  after(async () => env?.stop());

  it("passes the client's test_create_daemonset and test_job_apis: create, read, patch, delete", async () => {
    const { code, output } = await run(env);
    expect(output, output).to.match(/test_create_daemonset \(__main__\.TestClientApps.*\) \.\.\. ok/);
    expect(output, output).to.match(/test_job_apis \(__main__\.TestClientBatch.*\) \.\.\. ok/);
    expect(code, output).to.equal(0);
  });
});
