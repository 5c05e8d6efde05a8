/**
 * The Docker engine across hosts: two test hosts (network namespaces on a LAN this spec creates,
 * 10.251.0.1 and .2, with an uplink to the spec's own namespace at .254), each with a dockerd of its
 * own started inside it (its own data root, exec root, socket and containerd namespace) and a
 * kubelet on the Docker engine in pod mode. Each node's Docker bridge network holds its podCIDR,
 * host-gw routes join them, and a docker pod on host A reaches a docker pod on host B by its pod
 * IP. Everything goes with the spec: pods, kubelets, both dockerds and their directories.
 */
import { expect } from "chai";
import Docker from "dockerode";
import type { ChildProcess } from "node:child_process";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Container, Node, Pod } from "../../bus/resources.ts";
import type { NatsServer } from "../../runtime/nats-server.ts";
import type { Host } from "../../runtime/host.ts";
import { execFile, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { waitFor } from "../harness/cluster.ts";
import { NetnsLab, canUseNetns } from "../harness/netns.ts";
import { unavailable } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { startHost, connectNats } from "../../runtime/host.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { storeActor } from "../../actors/store/index.ts";
import { nodeIpamController } from "../../actors/node-ipam-controller/index.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImageSync } from "../../actors/kubelet/engines/busybox-image.ts";
import { Label } from "../../actors/kubelet/engines/docker.ts";

const hasDockerd = (): boolean => {
  try {
    execFileSync("sh", ["-c", "command -v dockerd"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

describe("pod networking on the Docker engine across hosts (a dockerd per host)", function () {
  this.timeout(240_000);
  const BIN = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "flotilla.mjs");
  let lab: NetnsLab;
  let server: NatsServer | undefined;
  let plane: Host | undefined;
  let nc: NatsConnection | undefined;
  let store: StoreClient;
  let dir: string;
  const cluster = runCluster("dkh");
  const hosts = (["a", "b"] as const).map((n, i) => ({ n, ip: `10.251.0.${i + 1}`, ns: "", node: "", root: "", sock: "", dockerd: undefined as ChildProcess | undefined, kubelet: undefined as ChildProcess | undefined }));
  const [A, B] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  const names: string[] = [];

  const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once("exit", () => r())));
  const stop = async (ps: (ChildProcess | undefined)[]) => {
    for (const p of ps) p?.kill("SIGTERM");
    await Promise.race([Promise.all(ps.map((p) => (p ? exited(p) : undefined))), new Promise((r) => setTimeout(r, 30_000))]);
    for (const p of ps) if (p && p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  };
  const pod = (name: string, node: string, script: string): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script] } as Container] },
  });
  const running = async (name: string) => {
    const p = await store.get<Pod>("pods", "default", name).catch(() => undefined);
    return p?.status?.phase === "Running" && p.status.podIP ? p : undefined;
  };

  before(async function () {
    if (!canUseNetns()) unavailable(this, "network namespaces", "run as root with iproute2 and iptables");
    if (!hasDockerd()) unavailable(this, "dockerd", "install docker.io");
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), "flotilla-dkh-"));
    const lan = lab.lan("lan");
    lab.lanUplink(lan, "10.251.0.254/24");
    for (const h of hosts) {
      h.ns = lab.lanHost(lan, h.n, `${h.ip}/24`);
      h.node = `${lab.prefix}-${h.n}`;
      h.root = join(dir, `docker-${h.n}`);
      h.sock = join(h.root, "docker.sock");
      const log = openSync(join(dir, `dockerd-${h.n}.log`), "a");
      h.dockerd = spawn(
        "nsenter",
        [`--net=/run/netns/${h.ns}`, "dockerd", "--data-root", join(h.root, "data"), "--exec-root", join(h.root, "exec"), "--pidfile", join(h.root, "pid"), "-H", `unix://${h.sock}`, "--containerd-namespace", h.node, "--containerd-plugins-namespace", `${h.node}p`, "--bridge", "none"],
        { stdio: ["ignore", log, log] },
      );
      closeSync(log);
    }
    for (const h of hosts) {
      const d = new Docker({ socketPath: h.sock });
      await waitFor(() => d.ping().then(() => true, () => false), { timeoutMs: 60_000, what: `host ${h.n}'s dockerd` });
      ensureBusyboxImageSync(BUSYBOX_IMAGE, `unix://${h.sock}`);
    }
    server = await startNatsServer({ port: 0, host: "10.251.0.254" });
    plane = await startHost({ natsUrl: server.url, cluster, actors: [{ def: storeActor, opts: { serviceCidr: "10.96.0.0/12" } }, { def: nodeIpamController, opts: {} }] });
    nc = await connectNats(server.url, "spec-client");
    store = new StoreClient(nc, cluster);
    for (const h of hosts) {
      const log = openSync(join(process.env.KEEP_LOGS ?? dir, `kubelet-${h.n}.log`), "a");
      const opts = { nodeName: h.node, engine: "docker", dockerSocket: h.sock, network: "pod", hostIP: h.ip, dataDir: join(dir, `node-${h.n}`), stopPodsOnExit: true };
      const args = ["actor", "kubelet", "--nats", server.url, "--cluster", cluster, ...Object.entries(opts).flatMap(([k, v]) => ["--opt", `${k}=${v}`])];
      h.kubelet = spawn("nsenter", [`--net=/run/netns/${h.ns}`, process.execPath, BIN, ...args], { env: { ...process.env, FLOTILLA_LOG: "warn" }, stdio: ["ignore", log, log] });
      closeSync(log);
    }
  });
  after(async () => {
    if (nc) for (const n of names) await store.delete("pods", "default", n, { gracePeriodSeconds: 0 }).catch(() => undefined);
    await stop(hosts.map((h) => h.kubelet));
    await stop(hosts.map((h) => h.dockerd));
    await plane?.stop();
    await nc?.close();
    await server?.stop();
    lab?.cleanup();
    for (const h of hosts) {
      // A dockerd that had to be killed may leave its overlay mounts behind.
      if (h.root && existsSync(h.root)) {
        for (const m of readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) => m.startsWith(h.root)).reverse()) {
          try {
            execFileSync("umount", ["-l", m], { stdio: "ignore" });
          } catch {
            /* gone */
          }
        }
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives each host's node a Docker network with its podCIDR and host-gw routes to the other", async () => {
    const nodes = await waitFor(async () => {
      const ns = await Promise.all(hosts.map((h) => store.get<Node>("nodes", undefined, h.node).catch(() => undefined)));
      const ready = (n: Node | undefined) => !!n?.spec?.podCIDR && !!n.status?.conditions?.some((c) => c.type === "NetworkUnavailable" && c.reason === "PodNetworkReady");
      return ns.every(ready) ? (ns as Node[]) : undefined;
    }, { timeoutMs: 180_000, what: "two docker nodes with a pod network" });
    const [cidrA, cidrB] = nodes.map((n) => n.spec!.podCIDR!);
    expect(cidrA).to.not.equal(cidrB);
    await waitFor(() => lab.sh(A.ns, "ip route show proto 202").includes(`${cidrB} via ${B.ip}`), { timeoutMs: 60_000, intervalMs: 500, what: "host a's route to b's pods" });
    await waitFor(() => lab.sh(B.ns, "ip route show proto 202").includes(`${cidrA} via ${A.ip}`), { timeoutMs: 60_000, intervalMs: 500, what: "host b's route to a's pods" });
    const nets = await new Docker({ socketPath: A.sock }).listNetworks();
    expect(nets.map((n) => n.IPAM?.Config?.[0]?.Subnet)).to.include(cidrA);
  });

  it("lets a docker pod on host A reach a docker pod on host B by its pod IP", async () => {
    for (const [name, h, script] of [["web-b", B, "echo hello from web-b > /www/index.html && exec httpd -f -p 8080 -h /www"], ["client-a", A, "exec sleep 3600"]] as const) {
      await store.create<Pod>("pods", "default", pod(name, h.node, script));
      names.push(name);
    }
    const web = await waitFor(() => running("web-b"), { timeoutMs: 90_000, what: "web-b running" });
    const client = await waitFor(() => running("client-a"), { timeoutMs: 90_000, what: "client-a running" });
    expect(web.status!.hostIP).to.equal(B.ip);
    expect(client.status!.hostIP).to.equal(A.ip);
    const d = new Docker({ socketPath: A.sock });
    const body = await waitFor(async () => {
      const [ctr] = await d.listContainers({ filters: JSON.stringify({ label: [`${Label.podName}=client-a`, `${Label.role}=container`] }) });
      if (!ctr) return undefined;
      const r = await promisify(execFile)("docker", ["exec", ctr.Id, "wget", "-q", "-O-", `http://${web.status!.podIP}:8080/`], { encoding: "utf8", timeout: 10_000, env: { ...process.env, DOCKER_HOST: `unix://${A.sock}` } }).catch(() => undefined);
      return r?.stdout || undefined;
    }, { timeoutMs: 60_000, what: "web-b from client-a" });
    expect(body).to.equal("hello from web-b\n");
  });

  it("removes each node's Docker network and routes once its pods are gone and its kubelet stops", async () => {
    for (const n of names) await store.delete("pods", "default", n, { gracePeriodSeconds: 0 }).catch(() => undefined);
    await waitFor(async () => (await Promise.all(names.map((n) => store.get("pods", "default", n).then(() => 1, () => 0)))).every((x) => x === 0), { timeoutMs: 60_000, what: "the pods gone" });
    await stop(hosts.map((h) => h.kubelet));
    for (const h of hosts) {
      expect(lab.sh(h.ns, "ip route show proto 202"), h.n).to.equal("");
      const nets = await new Docker({ socketPath: h.sock }).listNetworks();
      expect(nets.filter((n) => n.Labels?.["flotilla.node"] === h.node), h.n).to.deep.equal([]);
    }
  });
});
