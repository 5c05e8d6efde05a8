/**
 * The `flotilla` command. Thin: parse arguments, call the runtime, the bus or the HTTP API, print.
 */
import { Command, Option } from "commander";
import { resolve } from "node:path";
import { DEFAULT_CLUSTER } from "../bus/subjects.ts";
import { VERSION } from "../runtime/actor.ts";
import { defaultDataDir, readState, isAlive } from "./config.ts";
import { parseActorOptions, parseLeaseMs } from "./actor-options.ts";
import { registerCommands } from "./commands.ts";
import { CliError } from "./errors.ts";

// The actors (and so every engine and the api-server) load only for commands that run them:
// everyday commands start in a fraction of a second.
const ACTOR_KIND_NAMES = "store, api-server, scheduler, node-controller, replication-controller, deployment-controller, endpoints-controller, daemonset-controller, statefulset-controller, job-controller, cronjob-controller, garbage-collector, namespace-controller, kubelet, proxy";

const program = new Command();
program.name("flotilla").description("A Kubernetes-style container orchestrator built as actors on NATS").version(VERSION);
program.showHelpAfterError("(run `flotilla --help` for usage)");

program
  .command("up")
  .description("bring a whole cluster up on this machine")
  .option("--nodes <n>", "number of nodes (kubelet + proxy each)", "1")
  .addOption(new Option("--engine <engine>", "container engine (default: docker when a Docker engine answers, else process)").choices(["docker", "process", "simulated", "containerd", "cri"]).env("FLOTILLA_ENGINE"))
  .option("--cri-socket <path>", "engine containerd/cri: an existing CRI runtime's socket (default: start a private containerd under the data dir)")
  .option("--data-dir <dir>", "where the cluster keeps its state", defaultDataDir())
  .option("--port <port>", "api-server HTTPS port", "6443")
  .option("--nats-port <port>", "NATS port (default: the last one used, else a free one)")
  .option("--cluster <name>", "cluster name (NATS subject prefix)")
  .option("--example", "apply examples/web-app.yaml once the cluster is up")
  .addOption(new Option("--network <mode>", "pod: every pod its own network namespace and address, Services in the kernel, cluster DNS (root; process engine); loopback: pods share the host's network").choices(["loopback", "pod"]).default("loopback"))
  .option("--ingress-port <port>", "HTTP port of the ingress on node-1 (Ingresses, like k3s' Traefik; default 80 as root, else 8080)")
  .option("--ingress-tls-port <port>", "HTTPS port of the ingress (default 443 as root, else 8443)")
  .option("--no-ingress", "start no ingress")
  .option("--servers <n>", "run this many servers (NATS cluster + control plane each) on 127.0.0.2, 127.0.0.3, …; 3 or more replicate the store")
  .option("--self-hosted", "run the control plane as static pods (kube-system) of node-1 from the flotilla image; nats-server stays on the host")
  .option("--image <tag>", "--self-hosted: the image its pods run (default flotilla:<version>, built when missing)")
  .option("--lease-ms <ms>", "lease duration of leader-elected actors (default 5000; Kubernetes' controller-manager uses 15000)")
  .action(async (o) => {
    const dataDir = resolve(o.dataDir);
    const leaseDurationMs = parseLeaseMs(o.leaseMs);
    if (o.servers !== undefined) {
      if (o.engine === "containerd" || o.engine === "cri") throw new Error("--servers runs its nodes on docker, process or simulated; the containerd engine is for a single-server up");
      const [{ upServers }, { dockerAnswers }] = await Promise.all([import("./up-servers.ts"), import("./up.ts")]);
      const engine = o.engine ?? ((await dockerAnswers()) ? "docker" : "process");
      await upServers({ dataDir, servers: Number(o.servers), nodes: Number(o.nodes), engine, port: Number(o.port), natsPort: o.natsPort ? Number(o.natsPort) : undefined, cluster: o.cluster, handleSignals: true, leaseDurationMs });
      return;
    }
    const { up } = await import("./up.ts");
    const c = await up({
      dataDir,
      nodes: Number(o.nodes),
      engine: o.engine,
      port: Number(o.port),
      natsPort: o.natsPort ? Number(o.natsPort) : undefined,
      cluster: o.cluster,
      criSocket: o.criSocket ? resolve(o.criSocket) : undefined,
      handleSignals: true,
      network: o.network,
      selfHosted: o.selfHosted === true,
      image: o.image,
      leaseDurationMs,
      ingress: o.ingress === false ? null : { httpPort: o.ingressPort ? Number(o.ingressPort) : undefined, httpsPort: o.ingressTlsPort ? Number(o.ingressTlsPort) : undefined },
    });
    if (o.example) {
      const { applyExample } = await import("./example.ts");
      // A cluster whose example does not work is stopped, not left running behind an error.
      await applyExample(c).catch(async (e: Error) => {
        await c.stop();
        throw e;
      });
    }
  });

program
  .command("down")
  .description("stop the cluster that `flotilla up` started (its state is kept)")
  .option("--data-dir <dir>", "the cluster's data dir", defaultDataDir())
  .action(async (o) => {
    const s = readState(resolve(o.dataDir));
    if (s?.servers?.length && !isAlive(s.pid)) {
      // `up --servers` is gone but its servers may still run: stop them.
      const { stopServerDirs } = await import("./up-servers.ts");
      const n = await stopServerDirs(s.servers);
      console.log(n ? `stopped ${n} server(s)` : `no cluster is running from ${resolve(o.dataDir)}`);
      return;
    }
    if (!s || !isAlive(s.pid)) {
      console.log(`no cluster is running from ${resolve(o.dataDir)}`);
      return;
    }
    process.kill(s.pid, "SIGTERM");
    const deadline = Date.now() + 20_000;
    while (isAlive(s.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(s.pid)) {
      console.error(`pid ${s.pid} did not stop in 20 s`);
      process.exitCode = 1;
    } else console.log("cluster stopped");
  });

program
  .command("actor")
  .description(`run one actor in this process: ${ACTOR_KIND_NAMES}`)
  .argument("<kind>", "actor kind (several: comma-separated)")
  .requiredOption("--nats <url>", "NATS URL (comma-separated for several servers)")
  .option("--creds <file>", "NATS credentials file")
  .option("--cluster <name>", "cluster name", DEFAULT_CLUSTER)
  .option("--opt <key=value...>", "actor option (repeatable), e.g. --opt nodeName=n1 --opt engine=process")
  .option("--replicas <n>", "run this many replicas of the actor in this process", "1")
  .action(async (kind: string, o) => {
    const { ACTORS, ACTOR_KINDS } = await import("../actors/registry.ts");
    const { startHost } = await import("../runtime/host.ts");
    // Several kinds, comma-separated, share one process (the self-hosted controllers pod does).
    const kinds = kind.split(",").filter(Boolean);
    const unknown = kinds.find((k) => !ACTORS[k]);
    if (unknown !== undefined || kinds.length === 0) {
      console.error(`error: unknown actor kind "${unknown ?? kind}"; one of: ${ACTOR_KINDS.join(", ")}`);
      process.exit(2);
    }
    const opts = parseActorOptions(o.opt ?? []);
    const actors = kinds.flatMap((k) => Array.from({ length: Number(o.replicas) }, () => ({ def: ACTORS[k]!, opts })));
    await startHost({ natsUrl: o.nats, creds: o.creds, cluster: o.cluster, actors, handleSignals: true });
    console.error(`${kind} running (cluster "${o.cluster}", NATS ${o.nats}); Ctrl-C stops it`);
  });

registerCommands(program);

program.parseAsync(process.argv).catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exit(e instanceof CliError ? e.exitCode : 1);
});
