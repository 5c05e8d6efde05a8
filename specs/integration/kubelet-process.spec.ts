import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { TestCluster } from "../harness/cluster.ts";
import type { Container } from "../../bus/resources.ts";
import { startTestCluster } from "../harness/cluster.ts";
import { kubeletBehaviours, pidAlive as alive, killProcessContainers } from "../actors/kubelet/behaviours.ts";

describe("kubelet on the process engine", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-kubelet-"));
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
    killProcessContainers(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });


  kubeletBehaviours(
    {
      engine: "process",
      sh: (name: string, script: string, extra: Partial<Container> = {}): Container => ({ name, image: "busybox", command: ["sh", "-c", script], ...extra }),
      async isRunning(id) {
        try {
          const meta = JSON.parse(readFileSync(join(dataDir, "kubelet", cluster.cluster, "proc-node", "containers", id, "meta.json"), "utf8")) as { pid: number };
          return alive(meta.pid);
        } catch {
          return false;
        }
      },
    },
    () => cluster,
    () => ({ nodeName: "proc-node", engine: "process", dataDir, backoffBaseMs: 200, leaseDurationSeconds: 2, renewIntervalMs: 300 }),
  );
});
