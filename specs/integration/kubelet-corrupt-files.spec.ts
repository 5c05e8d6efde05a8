/**
 * A process-engine kubelet restarted over corrupt files (a torn write, a disk error, a person's
 * editor) sets them aside as `<name>.corrupt-<ts>`, keeps running, and runs its pods again.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { podOf, waitPod, running, killProcessContainers, pidAlive } from "../actors/kubelet/behaviours.ts";

const NODE = "corrupt-node";

describe("kubelet over corrupt process-engine files", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let host: Host | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-corrupt-"));
  const orphans: number[] = [];
  const root = () => join(dataDir, "kubelet", cluster.cluster, NODE);
  const start = async () => (host = await cluster.startActors([{ def: kubelet, opts: { nodeName: NODE, engine: "process", dataDir, backoffBaseMs: 200, stopPodsOnExit: false } }]));

  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await host?.stop();
    await cluster?.stop();
    killProcessContainers(dataDir);
    for (const pid of orphans) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("sets corrupt sandbox and meta files aside on restart, keeps running and runs the pod again", async () => {
    await start();
    const pod = podOf(NODE, [{ name: "main", image: "busybox", command: ["sleep", "300"] }]);
    await cluster.store.create("pods", "default", pod);
    await waitPod(cluster, pod, running, "the pod to run");
    await host!.stop();
    host = undefined;

    // The container keeps running while the kubelet is down; its files get corrupted.
    const [sandbox] = readdirSync(join(root(), "sandboxes"));
    const [container] = readdirSync(join(root(), "containers"));
    const metaPath = join(root(), "containers", container!, "meta.json");
    orphans.push((JSON.parse(readFileSync(metaPath, "utf8")) as { pid: number }).pid);
    writeFileSync(join(root(), "sandboxes", sandbox!), '{"pod": {"uid"');
    writeFileSync(metaPath, "\u0000\u0000garbage");

    await start();
    const [actor] = host!.actors;
    const again = await waitPod(cluster, pod, (p) => running(p) && p.status!.containerStatuses![0]!.containerID !== undefined && !p.status!.containerStatuses![0]!.containerID!.endsWith(container!), "the pod to run again", 20_000);
    expect(again.status?.phase).to.equal("Running");
    expect(actor!.supervisor.restartCount, "the kubelet was restarted by its supervisor").to.equal(0);
    expect(readdirSync(join(root(), "sandboxes")).some((f) => f.startsWith(`${sandbox}.corrupt-`))).to.equal(true);
    expect(readdirSync(join(root(), "containers", container!)).some((f) => f.startsWith("meta.json.corrupt-"))).to.equal(true);
    await waitFor(() => pidAlive(orphans[0]!), { what: "the old process to be left alone (its meta is gone)" });
  });
});
