/**
 * `flotilla up`: the whole cluster on this machine — embedded nats-server with JetStream, every
 * control-plane actor, N kubelets + proxies, the api-server over HTTPS — and a kubeconfig.
 */
import type { ActorSpec } from "../runtime/actor.ts";
import type { Host } from "../runtime/host.ts";
import type { NatsServer } from "../runtime/nats-server.ts";
import { mkdirSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { startNatsServer, superviseNatsServer, freePort } from "../runtime/nats-server.ts";
import { startHost, installSignalHandlers } from "../runtime/host.ts";
import { ACTORS, CONTROL_PLANE } from "../actors/registry.ts";
import { ensureTokens } from "../actors/api-server/tokens.ts";
import { ensurePki } from "../actors/api-server/certs.ts";
import { writeKubeconfig } from "../actors/api-server/kubeconfig.ts";
import { readState, writeState, isAlive, kubeconfigPath } from "./config.ts";
import { DEFAULT_CLUSTER } from "../bus/subjects.ts";
import { criRuntime } from "../actors/kubelet/engines/cri/runtime.ts";
import type { CriRuntime } from "../actors/kubelet/engines/cri/runtime.ts";

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
}

export interface RunningCluster {
  natsUrl: string;
  apiUrl: string;
  kubeconfig: string;
  adminToken: string;
  viewToken: string;
  engine: EngineChoice;
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
  mkdirSync(o.dataDir, { recursive: true });
  const prev = readState(o.dataDir);
  if (prev && isAlive(prev.pid) && prev.pid !== process.pid) {
    throw new Error(`a cluster from ${o.dataDir} is already running (pid ${prev.pid}); stop it with \`flotilla down\``);
  }
  const cluster = o.cluster ?? prev?.cluster ?? DEFAULT_CLUSTER;
  const engine: EngineChoice = o.engine ?? (await step("looking for a Docker engine", async () => ((await dockerAnswers()) ? "docker" : "process")));
  const natsPort = o.natsPort ?? prev?.natsPort ?? (await freePort());
  // Kept running: a nats-server that dies is started again on the same port with the same data.
  const supervised = await step(`starting nats-server with JetStream on 127.0.0.1:${natsPort}`, () =>
    superviseNatsServer(() => startNatsServer({ port: natsPort, dataDir: o.dataDir }), {
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
  };
  const apiPort = o.port === 0 ? await freePort() : o.port;
  const tokens = ensureTokens(o.dataDir);
  const pki = ensurePki(o.dataDir);
  const nodes = Array.from({ length: o.nodes }, (_, i) => `node-${i + 1}`);
  const controlPlane: ActorSpec[] = CONTROL_PLANE.map((kind) => ({
    def: ACTORS[kind]!,
    opts: kind === "api-server" ? { port: apiPort, dataDir: o.dataDir } : kind === "node-controller" ? { sysNatsUrl: server.sysUrl } : {},
  }));
  const usesCri = engine === "cri" || engine === "containerd";
  let cri: CriRuntime | undefined;
  try {
    if (usesCri) cri = await step(o.criSocket ? `using the CRI runtime at ${o.criSocket}` : "starting a private containerd", () => criRuntime({ dataDir: o.dataDir, criSocket: o.criSocket }));
  } catch (e) {
    await server.stop();
    throw e;
  }
  const nodeActors: ActorSpec[] = nodes.flatMap((nodeName) => [
    { def: ACTORS.kubelet!, opts: { nodeName, engine: usesCri ? "cri" : engine, dataDir: join(o.dataDir, "nodes", nodeName), stopPodsOnExit: true, ...(cri ? { criSocket: cri.socket } : {}) } },
    { def: ACTORS.proxy!, opts: { nodeName } },
  ]);
  let host: Host;
  try {
    const planeHost = await step(`starting the control plane (${CONTROL_PLANE.join(", ")})`, () => startHost({ natsUrl: server.url, cluster, actors: controlPlane }));
    const nodeHost = await step(`starting ${nodes.length} node(s) on the ${engine} engine (kubelet + proxy each)`, () => startHost({ natsUrl: server.url, cluster, actors: nodeActors }));
    // Nodes stop first (their pods go with them), the control plane after.
    host = {
      actors: [...planeHost.actors, ...nodeHost.actors],
      stop: async () => {
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
  writeKubeconfig(kubeconfig, { server: apiUrl, caPem: pki.caPem, token: tokens.admin, nats: { url: server.url, cluster, dataDir: o.dataDir } });
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
    engine,
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
  say(`Flotilla is up: ${nodes.length} node(s), ${engine} engine, cluster "${cluster}".`);
  say(`  API server:  ${apiUrl}   (dashboard: ${apiUrl}/ui/)`);
  say(`  NATS:        ${server.url}   (actors on other machines join with --nats ${server.url})`);
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
