/**
 * The Kubernetes Python client (Debian's python3-kubernetes 22.6, /usr/bin/python3) against the
 * api-server: the client's own DaemonSet and Job e2e tests, ported (specs/fixtures/python).
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { PYTHON, runPython } from "../harness/python.ts";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "../fixtures/python/test_batch_apps.py");


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
    const { code, output } = await runPython(SCRIPT, env);
    expect(output, output).to.match(/test_create_daemonset \(__main__\.TestClientApps.*\) \.\.\. ok/);
    expect(output, output).to.match(/test_job_apis \(__main__\.TestClientBatch.*\) \.\.\. ok/);
    expect(code, output).to.equal(0);
  });
});
