import Docker from "dockerode";
import type { TestCluster } from "../harness/cluster.ts";
import type { Container } from "../../bus/resources.ts";
import { startTestCluster } from "../harness/cluster.ts";
import { ensureBusyboxImage, BUSYBOX_IMAGE } from "../harness/images.ts";
import { kubeletBehaviours } from "../actors/kubelet/behaviours.ts";
import { expect } from "chai";
import type { Host } from "../../runtime/host.ts";
import { Label } from "../../actors/kubelet/engines/docker.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { podOf, waitPod } from "../actors/kubelet/behaviours.ts";
import { requireDocker } from "../harness/optional.ts";

describe("kubelet on the docker engine", function () {
  this.timeout(60_000);
  const docker = new Docker();
  const nodeName = `docker-node-${Date.now().toString(36)}`;
  let cluster: TestCluster;
  let reachable = false;

  before(async function () {
    await requireDocker(this);
    reachable = true;
    await ensureBusyboxImage();
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
    if (!reachable) return;
    const mine = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${Label.cluster}=${cluster?.cluster ?? "test"}`] }) });
    // Only this suite's nodes: other suites may share the Docker engine.
    await Promise.all(mine.filter((c) => (c.Labels[Label.node] ?? "").startsWith(nodeName)).map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });

  kubeletBehaviours(
    {
      engine: "docker",
      sh: (name: string, script: string, extra: Partial<Container> = {}): Container => ({
        name,
        image: BUSYBOX_IMAGE,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", "-c", script],
        // Docker pods have their own network namespace: the declared port is the real one.
        env: [{ name: "PORT", value: "8080" }, { name: "PORT_8080", value: "8080" }],
        ...extra,
      }),
      async isRunning(id) {
        const i = await docker.getContainer(id).inspect().catch(() => undefined);
        return !!i?.State.Running;
      },
    },
    () => cluster,
    () => ({ nodeName, engine: "docker", backoffBaseMs: 200, leaseDurationSeconds: 2, renewIntervalMs: 300 }),
  );

  describe("images", () => {
    let host: Host;
    before(async function () {
      if (!reachable) this.skip();
      host = await cluster.startActors([{ def: kubelet, opts: { nodeName: `${nodeName}-img`, engine: "docker", backoffBaseMs: 200 } }]);
    });
    after(async () => host?.stop());

    it("reports ErrImagePull / ImagePullBackOff with the engine's message for an image that cannot be pulled", async () => {
      const p = podOf(`${nodeName}-img`, [{ name: "ghost", image: "127.0.0.1:1/flotilla/ghost:1.0", imagePullPolicy: "IfNotPresent" }]);
      await cluster.store.create("pods", "default", p);
      const reasons = new Set<string>();
      const cur = await waitPod(cluster, p, (x) => {
        const r = x.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        if (r) reasons.add(r);
        return reasons.has("ErrImagePull") && reasons.has("ImagePullBackOff");
      }, "ErrImagePull then ImagePullBackOff", 20_000);
      expect(cur.status!.phase).to.equal("Pending");
      expect(cur.status!.containerStatuses![0]!.state!.waiting!.message).to.match(/ghost/);
    });

    it("refuses a missing image under pull policy Never with ErrImageNeverPull", async () => {
      const p = podOf(`${nodeName}-img`, [{ name: "never", image: "flotilla/absent:9", imagePullPolicy: "Never" }]);
      await cluster.store.create("pods", "default", p);
      await waitPod(cluster, p, (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === "ErrImageNeverPull", "ErrImageNeverPull");
    });
  });
});
