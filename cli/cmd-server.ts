/**
 * `flotilla server` (one server of a cluster per machine), `server leave`, `server remove`
 * (JetStream peer remove of a lost server). See docs/ha.md.
 */
import type { Command } from "commander";
import type { ServeFlags } from "./server-run.ts";
import { Option } from "commander";
import { resolve } from "node:path";
import { hostname } from "node:os";
import { DEFAULT_CLUSTER } from "../bus/subjects.ts";
import { defaultDataDir, isAlive } from "./config.ts";
import { CliError } from "./errors.ts";

const say = (s: string) => process.stdout.write(s + "\n");

/** The flags `flotilla server` takes (the defaults come from the command). */
type ServerFlags = Omit<ServeFlags, "defaultName" | "defaultCluster">;

export function registerServer(program: Command): void {
  const server = program
    .command("server")
    .description("run one server of a cluster on this machine: NATS (clustered), the control plane, the api-server")
    .option("--address <ip>", "the address this server listens on and other machines reach it at (default 127.0.0.1; kept after the first start)")
    .option("--join <host>", "an existing server to join (its address, or address:natsPort)")
    .option("--token <token>", "the cluster's join token (printed by the first server, kept in its <data-dir>/token)")
    .option("--data-dir <dir>", "where this server keeps its state", defaultDataDir())
    .option("--name <name>", "server name, unique in the cluster (default: the hostname)")
    .option("--cluster <name>", "cluster name (NATS subject prefix)")
    .option("--nats-port <port>", "NATS client port", "4222")
    .option("--route-port <port>", "NATS route port (servers to servers)", "6222")
    .option("--leaf-port <port>", "NATS leaf-node port (workers behind NAT)", "7422")
    .option("--api-port <port>", "api-server HTTPS port", "6443")
    .option("--peer <host:routePort...>", "another server's route address (repeatable; --join finds them itself)")
    .option("--node [name]", "also run a node (kubelet + proxy) in this process")
    .addOption(new Option("--engine <engine>", "the local node's container engine").choices(["docker", "process", "simulated"]).default("process"))
    .option("--lease-ms <ms>", "lease duration of leader-elected actors")
    .addOption(new Option("--no-init", "fetch the CA and tokens from the store instead of creating them").hideHelp())
    .action(async (f: ServerFlags) => {
      const { serveFromFlags } = await import("./server-run.ts");
      await serveFromFlags({ ...f, dataDir: resolve(f.dataDir), cluster: f.cluster, defaultName: hostname(), defaultCluster: DEFAULT_CLUSTER });
    });

  server
    .command("leave")
    .description("stop the server of this data dir and take it out of the cluster (registry and JetStream peers)")
    .option("--data-dir <dir>", "the server's data dir", defaultDataDir())
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ dataDir: string }>();
      const { readServerState } = await import("../runtime/cluster/server-config.ts");
      const dir = resolve(o.dataDir);
      const st = readServerState(dir);
      if (!st || !isAlive(st.pid)) throw new CliError(`no server is running from ${dir}`);
      // SIGUSR2 asks the server to leave the cluster before it stops.
      process.kill(st.pid, "SIGUSR2");
      const deadline = Date.now() + 30_000;
      while (isAlive(st.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (isAlive(st.pid)) throw new CliError(`server ${st.name} (pid ${st.pid}) did not stop in 30 s`);
      say(`server ${st.name} left the cluster`);
    });

  server
    .command("remove")
    .description("remove a lost server from the cluster (JetStream peer remove and the registry); run on any live server")
    .argument("<name>", "the lost server's name")
    .option("--data-dir <dir>", "a live server's data dir (or the data dir of `flotilla up --servers`)", defaultDataDir())
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ dataDir: string }>();
      const { removeServer } = await import("./server-run.ts");
      await removeServer(resolve(o.dataDir), name);
      say(`server ${name} removed from the cluster`);
    });
}
