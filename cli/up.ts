/**
 * `flotilla up`: the whole cluster on this machine — embedded nats-server with JetStream, every
 * control-plane actor, N kubelets + proxies, the api-server over HTTPS — and a kubeconfig.
 */
import type { ActorSpec } from "../runtime/actor.ts";
import type { Host } from "../runtime/host.ts";
import type { NatsServer } from "../runtime/nats-server.ts";
import type { Credentials } from "../runtime/cluster/credentials.ts";
import { mkdirSync, existsSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { startNatsServer, superviseNatsServer, freePort } from "../runtime/nats-server.ts";
import { startHost, installSignalHandlers } from "../runtime/host.ts";
import { ACTORS, CONTROL_PLANE } from "../actors/registry.ts";
import { ensureTokens } from "../actors/api-server/tokens.ts";
import { ensureAdminClientCert, ensurePki } from "../actors/api-server/certs.ts";
import { ensureEncryptionConfig } from "../actors/store/encryption-config.ts";
import { writeKubeconfig } from "../actors/api-server/kubeconfig.ts";
import { readState, writeState, isAlive, kubeconfigPath } from "./config.ts";
import { DEFAULT_CLUSTER } from "../bus/subjects.ts";
import { ensureTokenFile } from "../runtime/cluster/token.ts";
import { clusterUsers, credentialsOf, credentialsPath, sysPassword, writeCredentials } from "../runtime/cluster/credentials.ts";
import type { NetworkChoice } from "./pod-network-mode.ts";
import { networkPlan, startClusterDns } from "./pod-network-mode.ts";
import { podNetworkProblem } from "../actors/kubelet/network.ts";
import { criRuntime } from "../actors/kubelet/engines/cri/runtime.ts";
import type { CriRuntime } from "../actors/kubelet/engines/cri/runtime.ts";
import { prepareSelfHosted } from "./up-self-hosted.ts";
import { removeControlPlane, waitForApiServer } from "./self-hosted.ts";

/** `containerd` is the cri engine on a private containerd (or the one `criSocket` names). */
export type EngineChoice = "docker" | "process" | "simulated" | "cri" | "containerd";

export interface UpOptions {
  dataDir: string;
  nodes: number;
  engine?: EngineChoice;
  port: number;
  natsPort?: number;
  cluster?: string;
  /** An existing CRI runtime's socket for the cri/containerd engine (default: start a private containerd). */
  criSocket?: string;
  /** Print progress (default true). */
  quiet?: boolean;
  handleSignals?: boolean;
  /** `pod`: pods in network namespaces, Services in the kernel, cluster DNS (docs/networking.md). Default `loopback`. */
  network?: NetworkChoice;
  /** The control plane as static pods of node-1 (cli/self-hosted.ts); nats-server stays on the host. */
  selfHosted?: boolean;
  /** The image those pods run (default flotilla:<version>, built when missing). */
  image?: string;
  /** The ingress on node-1 (HTTP/HTTPS ports; default 80/443 as root, else 8080/8443); null: none. */
  ingress?: { httpPort?: number; httpsPort?: number } | null;
  /** Lease duration of the leader-elected actors (default runtime/leader-timing.ts). */
  leaseDurationMs?: number;
}

export interface RunningCluster {
  natsUrl: string;
  apiUrl: string;
  kubeconfig: string;
  adminToken: string;
  viewToken: string;
  /** The CLI's NATS credentials (also in `<data-dir>/credentials/admin.json`). */
  admin: Credentials;
  engine: EngineChoice;
  /** The networking mode the cluster runs in (`loopback` also when pod networking was asked for but not available). */
  network: NetworkChoice;
  nodes: string[];
  server: NatsServer;
  host: Host;
  stop(): Promise<void>;
}

export async function dockerAnswers(timeoutMs = 1500): Promise<boolean> {
  try {
    const d = new Docker();
    await Promise.race([d.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error("timeout")), timeoutMs))]);
    return true;
  } catch {
    return false;
  }
}

export async function up(o: UpOptions): Promise<RunningCluster> {
  const say = (s: string) => {
    if (!o.quiet) process.stdout.write(s + "\n");
  };
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    if (!o.quiet) process.stdout.write(`• ${what} … `);
    const v = await fn();
    if (!o.quiet) process.stdout.write(`done (${Date.now() - t0} ms)\n`);
    return v;
  };
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(o.dataDir, 0o700);
  const prev = readState(o.dataDir);
  if (prev && isAlive(prev.pid) && prev.pid !== process.pid) {
    throw new Error(`a cluster from ${o.dataDir} is already running (pid ${prev.pid}); stop it with \`flotilla down\``);
  }
  const cluster = o.cluster ?? prev?.cluster ?? DEFAULT_CLUSTER;
  // Pod networking is built for the process engine: asking for it picks that engine.
  const engine: EngineChoice = o.engine ?? (o.network === "pod" ? "process" : await step("looking for a Docker engine", async () => ((await dockerAnswers()) ? "docker" : "process")));
  const net = networkPlan(o.network ?? "loopback", o.network === "pod" ? await podNetworkProblem(engine) : undefined);
  if (net.fallback) say(`• pod networking is not available (${net.fallback}): running in loopback mode`);
  const natsPort = o.natsPort ?? prev?.natsPort ?? (await freePort());
  // No anonymous user: every actor connects as its role (store, control, its node), the CLI as admin,
  // with passwords derived from the cluster token (see docs/security.md).
  const token = ensureTokenFile(join(o.dataDir, "token"));
  const nodes = Array.from({ length: o.nodes }, (_, i) => `node-${i + 1}`);
  const users = clusterUsers(token, cluster, nodes);
  const credentials = (id: Parameters<typeof credentialsOf>[1]) => credentialsOf(token, id);
  const admin = credentials({ role: "admin" });
  for (const id of [{ role: "admin" as const }, { role: "control" as const }, { role: "store" as const }, ...nodes.map((node) => ({ role: "node" as const, node }))]) {
    writeCredentials(o.dataDir, credentials(id));
  }
  // Kept running: a nats-server that dies is started again on the same port with the same data.
  const supervised = await step(`starting nats-server with JetStream on 127.0.0.1:${natsPort}`, () =>
    superviseNatsServer(() => startNatsServer({ port: natsPort, dataDir: o.dataDir, users, passwords: { sys: sysPassword(token) } }), {
      onRestart: (n) => process.stderr.write(`nats-server died and was started again (pid ${n.pid})\n`),
    }),
  );
  const first = supervised.current;
  const server: NatsServer = {
    url: first.url,
    sysUrl: first.sysUrl,
    monitorUrl: first.monitorUrl,
    port: first.port,
    dataDir: first.dataDir,
    get pid() {
      return supervised.current.pid;
    },
    get exited() {
      return supervised.current.exited;
    },
    stop: () => supervised.stop(),
    reload: (u) => supervised.current.reload(u),
  };
  const apiPort = o.port === 0 ? await freePort() : o.port;
  const tokens = ensureTokens(o.dataDir);
  const pki = ensurePki(o.dataDir);
  const manifests = join(o.dataDir, "manifests");
  const selfHosted = o.selfHosted ? await step("writing the control plane as static pods", () => prepareSelfHosted({ engine, natsUrl: server.url, cluster, dataDir: o.dataDir, apiPort, storeOpts: net.storeOpts, image: o.image, say })).catch(async (e: unknown) => {
    await server.stop();
    throw e;
  }) : (removeControlPlane(manifests), undefined);
  // In pod mode the api-server starts with the cluster DNS, once node-1's bridge exists (pod-network-mode.ts).
  const controlPlane: ActorSpec[] = selfHosted ? [] : CONTROL_PLANE.filter((kind) => net.mode !== "pod" || kind !== "api-server").map((kind) => ({
    def: ACTORS[kind]!,
    opts: kind === "api-server" ? { port: apiPort, dataDir: o.dataDir } : kind === "node-controller" ? { sysNatsUrl: server.sysUrl } : kind === "store" ? { ...net.storeOpts, encryptionConfig: ensureEncryptionConfig(o.dataDir) } : {},
  }));
  const usesCri = engine === "cri" || engine === "containerd";
  let cri: CriRuntime | undefined;
  try {
    if (usesCri) cri = await step(o.criSocket ? `using the CRI runtime at ${o.criSocket}` : "starting a private containerd", () => criRuntime({ dataDir: o.dataDir, criSocket: o.criSocket }));
  } catch (e) {
    await server.stop();
    throw e;
  }
  const nodeActors: ActorSpec[] = nodes.flatMap((nodeName, i) => [
    { def: ACTORS.kubelet!, opts: { nodeName, engine: usesCri ? "cri" : engine, dataDir: join(o.dataDir, "nodes", nodeName), stopPodsOnExit: true, ...(i === 0 ? { staticPodPath: manifests } : {}), ...net.kubeletOpts(i), ...(cri ? { criSocket: cri.socket } : {}) } },
    { def: ACTORS.proxy!, opts: { nodeName, ...net.proxyOpts } },
  ]);
  // One ingress: the nodes of one machine share its addresses (a joined node runs its own).
  const root = process.getuid?.() === 0;
  const ingressPorts = o.ingress === null ? undefined : { httpPort: o.ingress?.httpPort ?? (root ? 80 : 8080), httpsPort: o.ingress?.httpsPort ?? (root ? 443 : 8443) };
  if (ingressPorts) nodeActors.push({ def: ACTORS.ingress!, opts: { nodeName: nodes[0]!, ...ingressPorts } });
  // NetworkPolicies are enforced in the kernel, for pods in network namespaces (one actor: the nodes share this machine's FORWARD chain).
  if (net.mode === "pod") nodeActors.push({ def: ACTORS["network-policy"]!, opts: { nodeName: nodes[0]!, nodes } });
  let host: Host;
  try {
    const planeHost = await step(selfHosted ? "the control plane runs as static pods of node-1" : `starting the control plane (${CONTROL_PLANE.join(", ")})`, () => startHost({ natsUrl: server.url, credentials, cluster, actors: controlPlane, leaseDurationMs: o.leaseDurationMs }));
    const nodeHost = await step(`starting ${nodes.length} node(s) on the ${engine} engine (kubelet + proxy each)`, () => startHost({ natsUrl: server.url, credentials, cluster, actors: nodeActors, leaseDurationMs: o.leaseDurationMs }));
    if (selfHosted) {
      await step(`waiting for the api-server pod on 127.0.0.1:${apiPort}`, () => waitForApiServer(apiPort, pki.caPem, 120_000)).catch(async (e: unknown) => {
        await nodeHost.stop();
        throw e;
      });
    }
    const dnsHost = net.mode === "pod" ? await step("starting the cluster DNS on 10.96.0.10", () => startClusterDns({ natsUrl: server.url, cluster, node: nodes[0]!, credentials, apiServer: { port: apiPort, dataDir: o.dataDir } })) : undefined;
    // Nodes stop first (their pods go with them), the control plane after.
    host = {
      actors: [...planeHost.actors, ...nodeHost.actors, ...(dnsHost?.actors ?? [])],
      stop: async () => {
        await dnsHost?.stop();
        await nodeHost.stop();
        await planeHost.stop();
      },
    };
  } catch (e) {
    await cri?.stop();
    await server.stop();
    throw e;
  }
  const apiUrl = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = kubeconfigPath(o.dataDir);
  writeKubeconfig(kubeconfig, { server: apiUrl, caPem: pki.caPem, token: "", clientCert: ensureAdminClientCert(o.dataDir), nats: { url: server.url, cluster, dataDir: o.dataDir, creds: credentialsPath(o.dataDir, admin.user) } });
  writeState(o.dataDir, {
    pid: process.pid,
    natsUrl: server.url,
    natsPort: server.port,
    apiUrl,
    apiPort,
    cluster,
    engine,
    nodes,
    kubeconfig,
    startedAt: new Date().toISOString(),
  });
  let stopping: Promise<void> | undefined;
  const running: RunningCluster = {
    natsUrl: server.url,
    apiUrl,
    kubeconfig,
    adminToken: tokens.admin,
    viewToken: tokens.view,
    admin,
    engine,
    network: net.mode,
    nodes,
    server,
    host,
    stop() {
      stopping ??= (async () => {
        say("stopping the cluster …");
        await host.stop();
        await cri?.stop();
        await server.stop();
        const s = readState(o.dataDir);
        if (s?.pid === process.pid) rmSync(join(o.dataDir, "cluster.json"), { force: true });
        say("stopped; the cluster's state is kept in " + o.dataDir);
      })();
      return stopping;
    },
  };
  if (o.handleSignals) installSignalHandlers(() => running.stop());
  say("");
  say(`Flotilla is up: ${nodes.length} node(s), ${engine} engine, ${net.mode === "pod" ? "pod network (Services in the kernel, DNS at 10.96.0.10)" : "loopback network"}, cluster "${cluster}".`);
  say(`  API server:  ${apiUrl}   (dashboard: ${apiUrl}/ui/)`);
  if (ingressPorts) say(`  Ingress:     http://127.0.0.1:${ingressPorts.httpPort}  https://127.0.0.1:${ingressPorts.httpsPort}`);
  say(`  NATS:        ${server.url}   (credentials in ${join(o.dataDir, "credentials")}: --creds <file>)`);
  say(`  kubeconfig:  ${kubeconfig}`);
  say("");
  say("Next:");
  say(`  export KUBECONFIG=${kubeconfig}`);
  say("  kubectl get nodes");
  say("  flotilla apply -f examples/web-app.yaml");
  say("  flotilla get actors");
  say("");
  say("Ctrl-C stops everything; `flotilla up` again resumes with the same state.");
  return running;
}

/** Reads the admin token of a data dir (for commands run beside `up`). */
export function adminTokenOf(dataDir: string): string | undefined {
  const p = join(dataDir, "tokens.csv");
  if (!existsSync(p)) return undefined;
  return readFileSync(p, "utf8").split("\n")[0]?.split(",")[0];
}
