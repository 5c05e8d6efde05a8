import type { Host } from "../../runtime/host.ts";
import type { NatsServer } from "../../runtime/nats-server.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Node, Pod } from "../../bus/resources.ts";
import { expect } from "chai";
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { startHost, connectNats } from "../../runtime/host.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { isCode, ErrorCode } from "../../bus/errors.ts";
import { storeActor } from "../../actors/store/index.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { MIRROR_ANNOTATION } from "../../actors/kubelet/static-pods.ts";
import { runCluster } from "../harness/run.ts";
import { waitFor } from "../harness/cluster.ts";
import { pidAlive, killProcessContainers } from "../actors/kubelet/behaviours.ts";

const NODE = "static-node";

/** A static pod whose container writes "<version> <pid>" to `out` and then sleeps as that pid. */
const manifest = (out: string, version: string) => `
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: kube-system
  labels: { app: web }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: web
      image: busybox
      command: ["sh", "-c", "echo ${version} $$ > ${out}; exec sleep 3600"]
`;

describe("kubelet static pods (process engine)", function () {
  this.timeout(90_000);
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-static-"));
  const manifests = join(dataDir, "manifests");
  // Written by the pod's unprivileged user: outside the kubelet's data dir, which it cannot enter.
  const outDir = mkdtempSync(join(tmpdir(), "flotilla-static-out-"));
  chmodSync(outDir, 0o777);
  const out = join(outDir, "web.out");
  const cluster = runCluster();
  let server: NatsServer;
  let kubeletHost: Host | undefined;
  let storeHost: Host | undefined;
  let nc: NatsConnection | undefined;
  let store: StoreClient;
  /** What the static pod's container wrote: its manifest version and its pid. */
  const written = () => {
    try {
      const [version, pid] = readFileSync(out, "utf8").trim().split(" ");
      return version && pid ? { version, pid: Number(pid) } : undefined;
    } catch {
      return undefined;
    }
  };
  const mirror = async () => {
    try {
      return await store.get<Pod>("pods", "kube-system", `web-${NODE}`);
    } catch (e) {
      if (isCode(e, ErrorCode.NotFound)) return undefined;
      throw e;
    }
  };

  before(async () => {
    process.env.FLOTILLA_LOG ??= "warn";
    mkdirSync(manifests);
    writeFileSync(join(manifests, "web.yaml"), manifest(out, "v1"));
    server = await startNatsServer({ port: 0 });
  });
  after(async () => {
    await kubeletHost?.stop();
    await storeHost?.stop();
    await nc?.close();
    await server?.stop();
    killProcessContainers(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  it("runs a manifest's pod with no store or API server in the cluster", async () => {
    kubeletHost = await startHost({
      natsUrl: server.url,
      cluster,
      actors: [{ def: kubelet, opts: { nodeName: NODE, engine: "process", dataDir, stopPodsOnExit: true, backoffBaseMs: 200, leaseDurationSeconds: 3, renewIntervalMs: 500 } }],
    });
    const w = await waitFor(written, { timeoutMs: 20_000, what: "the static pod's container to run" });
    expect(w.version).to.equal("v1");
    expect(pidAlive(w.pid)).to.equal(true);
  });

  it("publishes a mirror pod once the store exists, with Kubernetes' annotations, owned by the Node, showing the status", async () => {
    storeHost = await startHost({ natsUrl: server.url, cluster, actors: [{ def: storeActor, opts: {} }] });
    nc = await connectNats(server.url, "spec-client");
    store = new StoreClient(nc, cluster);
    const m = await waitFor(async () => {
      const p = await mirror();
      return p?.status?.phase === "Running" ? p : undefined;
    }, { timeoutMs: 30_000, what: "a Running mirror pod" });
    const node = await store.get<Node>("nodes", undefined, NODE);
    expect(m.metadata.annotations?.[MIRROR_ANNOTATION]).to.match(/^[0-9a-f]{32}$/);
    expect(m.metadata.annotations).to.include({ "kubernetes.io/config.source": "file", "kubernetes.io/config.hash": m.metadata.annotations![MIRROR_ANNOTATION] });
    expect(m.metadata.ownerReferences).to.deep.equal([{ apiVersion: "v1", kind: "Node", name: NODE, uid: node.metadata.uid, controller: true }]);
    expect(m.spec.nodeName).to.equal(NODE);
    expect(m.status?.containerStatuses?.[0]?.state?.running).to.not.equal(undefined);
  });

  it("refuses a change to the mirror pod's spec", async () => {
    const m = (await mirror())!;
    const edited = structuredClone(m);
    edited.spec.containers[0]!.image = "busybox:other";
    const err = await store.update("pods", edited).then(() => undefined, (e: unknown) => e);
    expect(isCode(err, ErrorCode.Invalid), String(err)).to.equal(true);
    expect((await mirror())!.spec.containers[0]!.image).to.equal("busybox");
  });

  it("publishes the mirror pod again when it is deleted through the API, and the static pod keeps running", async () => {
    const before = (await mirror())!;
    const pid = written()!.pid;
    await store.delete("pods", "kube-system", before.metadata.name!);
    const again = await waitFor(async () => {
      const p = await mirror();
      return p && p.metadata.uid !== before.metadata.uid && !p.metadata.deletionTimestamp && p.status?.phase === "Running" ? p : undefined;
    }, { timeoutMs: 20_000, what: "a new mirror pod" });
    expect(again.metadata.annotations?.[MIRROR_ANNOTATION]).to.equal(before.metadata.annotations?.[MIRROR_ANNOTATION]);
    expect(written()!.pid).to.equal(pid);
    expect(pidAlive(pid)).to.equal(true);
  });

  it("restarts the pod with the new spec when its manifest is edited", async () => {
    const old = written()!;
    const oldHash = (await mirror())!.metadata.annotations![MIRROR_ANNOTATION];
    writeFileSync(join(manifests, "web.yaml"), manifest(out, "v2"));
    const w = await waitFor(() => (written()?.version === "v2" ? written() : undefined), { timeoutMs: 20_000, what: "the edited pod to run" });
    await waitFor(() => !pidAlive(old.pid), { timeoutMs: 10_000, what: "the old container to stop" });
    expect(pidAlive(w.pid)).to.equal(true);
    const m = await waitFor(async () => {
      const p = await mirror();
      return p && p.metadata.annotations?.[MIRROR_ANNOTATION] !== oldHash && p.status?.phase === "Running" ? p : undefined;
    }, { timeoutMs: 20_000, what: "the mirror pod of the edited manifest" });
    expect(m.spec.containers[0]!.command!.join(" ")).to.contain("echo v2");
  });

  it("stops the pod and deletes its mirror pod when the manifest is removed", async () => {
    const w = written()!;
    unlinkSync(join(manifests, "web.yaml"));
    await waitFor(() => !pidAlive(w.pid), { timeoutMs: 20_000, what: "the static pod to stop" });
    await waitFor(async () => (await mirror()) === undefined, { timeoutMs: 20_000, what: "the mirror pod to go" });
  });
});
