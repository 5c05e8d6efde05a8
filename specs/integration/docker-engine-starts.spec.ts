/** The Docker engine's own limit on container starts (startConcurrency), against a real dockerd. */
import { expect } from "chai";
import Docker from "dockerode";
import { DockerEngine, Label } from "../../actors/kubelet/engines/docker.ts";
import { ensureBusyboxImage, BUSYBOX_IMAGE } from "../harness/images.ts";
import { requireDocker } from "../harness/optional.ts";

describe("docker engine: container starts", function () {
  this.timeout(60_000);
  const cluster = `starts-${Date.now().toString(36)}`;
  const docker = new Docker();
  let engine: DockerEngine | undefined;

  before(async function () {
    await requireDocker(this);
    await ensureBusyboxImage();
  });
  after(async () => {
    await engine?.close();
    const mine = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${Label.cluster}=${cluster}`] }) }).catch(() => []);
    await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });

  it("creates and starts at most startConcurrency sandboxes at once, and every pod still gets one", async () => {
    engine = new DockerEngine({ cluster, nodeName: "n1", startConcurrency: 2 });
    await engine.init();
    // Count create → start-finished spans as the engine's own calls make them.
    let inFlight = 0;
    let most = 0;
    const d = engine.docker as unknown as { createContainer(o: Docker.ContainerCreateOptions): Promise<Docker.Container> };
    const create = d.createContainer.bind(d);
    d.createContainer = async (o) => {
      most = Math.max(most, ++inFlight);
      const c = await create(o);
      const start = c.start.bind(c) as () => Promise<unknown>;
      (c as { start: () => Promise<unknown> }).start = () => start().finally(() => inFlight--);
      return c;
    };
    const pods = Array.from({ length: 6 }, (_, i) => ({ uid: `${cluster}-uid-${i}`, namespace: "default", name: `p${i}` }));
    const sandboxes = await Promise.all(pods.map((p) => engine!.ensureSandbox(p, { hostname: p.name })));
    expect(most).to.equal(2);
    expect(new Set(sandboxes.map((s) => s.id)).size).to.equal(6);
    expect((await engine.listSandboxes()).map((s) => s.pod.name).sort()).to.deep.equal(pods.map((p) => p.name));
  });

  it("answers a burst of pod workers' listings with a few list calls, each sent after its caller asked", async () => {
    engine ??= new DockerEngine({ cluster, nodeName: "n1" });
    await engine.init();
    let calls = 0;
    const d = engine.docker as unknown as { listContainers(o: unknown): Promise<unknown[]> };
    const list = d.listContainers.bind(d);
    d.listContainers = (o) => {
      calls++;
      return list(o);
    };
    // 16 workers, each listing containers and sandboxes as a sync does.
    const views = await Promise.all(Array.from({ length: 16 }, () => Promise.all([engine!.listContainers(), engine!.listSandboxes()])));
    expect(calls).to.be.at.most(2);
    for (const [, sandboxes] of views) expect(sandboxes.length).to.equal(6);
    // A sandbox made while a listing is on its way shows up in the next one asked for.
    const pending = engine.listSandboxes();
    const made = await engine.ensureSandbox({ uid: `${cluster}-uid-late`, namespace: "default", name: "late" }, { hostname: "late" });
    await pending;
    expect((await engine.listSandboxes()).map((s) => s.id)).to.include(made.id);
  });

  it("knows a container it started without inspecting it again at the next listing", async () => {
    engine ??= new DockerEngine({ cluster, nodeName: "n1" });
    await engine.init();
    const sandbox = await engine.ensureSandbox({ uid: `${cluster}-uid-app`, namespace: "default", name: "app" }, { hostname: "app" });
    const started = await engine.startContainer(sandbox, { name: "c", image: BUSYBOX_IMAGE, command: ["sleep", "3600"], env: {}, ports: [], imagePullPolicy: "IfNotPresent", init: false, attempt: 0 }, "");
    let inspects = 0;
    const d = engine.docker as unknown as { getContainer(id: string): Docker.Container };
    const get = d.getContainer.bind(d);
    d.getContainer = (id) => {
      const c = get(id);
      const inspect = c.inspect.bind(c) as () => Promise<Docker.ContainerInspectInfo>;
      (c as { inspect: () => Promise<Docker.ContainerInspectInfo> }).inspect = () => {
        inspects++;
        return inspect();
      };
      return c;
    };
    const listed = (await engine.listContainers()).find((c) => c.id === started.id);
    expect(listed?.state).to.equal("running");
    expect(listed?.pod.name).to.equal("app");
    expect(inspects).to.equal(0);
  });
});
