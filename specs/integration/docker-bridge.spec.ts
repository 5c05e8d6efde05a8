/**
 * The address a Docker pod is given for its node (the bridge gateway: Services' bridge ports live
 * there) must answer from inside a container on the engine that runs here — a freshly started
 * dockerd whose bridge network carries no IPAM `Gateway` field.
 */
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { nanoid } from "nanoid";
import { DockerEngine } from "../../actors/kubelet/engines/docker.ts";
import type { SandboxInfo, EngineContainer } from "../../actors/kubelet/engines/types.ts";
import { requireDocker } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";
import { ensureBusyboxImage, BUSYBOX_IMAGE } from "../harness/images.ts";
import { waitFor } from "../harness/cluster.ts";

describe("docker engine bridge address (integration)", function () {
  this.timeout(60_000);
  let engine: DockerEngine | undefined;
  let server: Server | undefined;
  let sandbox: SandboxInfo | undefined;
  let container: EngineContainer | undefined;

  before(async function () {
    await requireDocker(this);
    await ensureBusyboxImage();
  });

  after(async () => {
    if (container) {
      await engine?.stopContainer(container.id, 0);
      await engine?.removeContainer(container.id);
    }
    if (sandbox) await engine?.removeSandbox(sandbox.id);
    await engine?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it("gives pods an address of this host that a container reaches", async () => {
    engine = new DockerEngine({ cluster: runCluster("br"), nodeName: "br1" });
    await engine.init();
    const address = engine.nodeAddressForPods;
    expect(address, "the node address Docker pods are given").to.be.a("string").and.not.match(/^127\./);
    server = createServer((_q, s) => s.end("the node answers\n"));
    await new Promise<void>((r) => server!.listen(0, address, () => r()));
    const target = `${address}:${(server.address() as AddressInfo).port}`;
    const pod = { uid: `u-${nanoid(8)}`, namespace: "default", name: "bridge-check" };
    sandbox = await engine.ensureSandbox(pod, { hostname: "bridge-check" });
    container = await engine.startContainer(
      sandbox,
      {
        name: "probe",
        image: BUSYBOX_IMAGE,
        command: ["sh", "-c", "until wget -q -O- http://$TARGET/; do sleep 0.2; done; exec sleep 3600"],
        env: { TARGET: target },
        ports: [],
        imagePullPolicy: "Never",
        init: false,
        attempt: 0,
      },
      "",
    );
    const log = await waitFor(async () => {
      let text = "";
      const l = await engine!.logs(container!.id, { follow: false });
      for await (const chunk of l.chunks) text += chunk;
      return text.includes("the node answers") ? text : undefined;
    }, { timeoutMs: 20_000, what: `the container to reach ${target}` });
    expect(log).to.contain("the node answers");
  });
});
