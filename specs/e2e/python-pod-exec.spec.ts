/**
 * The Kubernetes Python client (Debian's python3-kubernetes, /usr/bin/python3) runs its own pod
 * e2e tests, test_pod_apis and test_exit_code (ported in specs/fixtures/python/test_pod_exec.py),
 * against a docker node whose engine has a locally built image tagged `busybox` (there is no
 * registry here): the pod runs, and exec over WebSockets gives output, stdin, stderr, the status
 * on the error channel and exit codes.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { PYTHON, runPython } from "../harness/python.ts";
import { withPodCleanup } from "../harness/cluster.ts";
import { needEngineImages, BUSYBOX_IMAGE } from "../harness/images.ts";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "../fixtures/python/test_pod_exec.py");
const TAG = "busybox:latest";

const docker = (args: string[]) => execFileSync("docker", args, { stdio: ["ignore", "pipe", "ignore"], encoding: "utf8" });
const hasImage = (tag: string) => {
  try {
    docker(["image", "inspect", tag]);
    return true;
  } catch {
    return false;
  }
};


describe("the Kubernetes Python client's pod and exec tests (docker engine, e2e)", function () {
  this.timeout(240_000);
  let env: ApiEnv | undefined;
  let tagged = false;

  before(async function () {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} (with python3-kubernetes) is required`);
    await needEngineImages(this, "docker");
    if (!hasImage(TAG)) {
      docker(["tag", BUSYBOX_IMAGE, TAG]);
      tagged = true;
    }
    env = await startApiEnv();
    await env.tc.startActors(
      withPodCleanup([
        { def: ACTORS.scheduler! },
        { def: ACTORS["serviceaccount-controller"]! },
        { def: ACTORS.kubelet!, opts: { nodeName: "py-docker", engine: "docker", dataDir: env.dir } },
      ]),
    );
  });

  after(async () => {
    await env?.stop();
    if (tagged) {
      try {
        docker(["rmi", TAG]);
      } catch {
        /* still used by a container being removed: the tag stays, harmlessly */
      }
    }
  });

  it("passes test_pod_apis and test_exit_code", async () => {
    const { code, output } = await runPython(SCRIPT, env!, 150_000);
    expect(output, output).to.match(/test_pod_apis \(__main__\.TestClient.*\) \.\.\. ok/);
    expect(output, output).to.match(/test_exit_code \(__main__\.TestClient.*\) \.\.\. ok/);
    expect(code, output).to.equal(0);
  });
});
