/**
 * One node in its own OS process (kubelet, optionally with a proxy), so that specs and the failover
 * benchmark can SIGKILL or SIGSTOP a whole node.
 *
 * Run directly: `node --import tsx bench/node-process.ts <natsUrl> <cluster> <nodeName> [engine]`.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface NodeProcess {
  name: string;
  child: ChildProcess;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process exited. */
  exited: Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

export function spawnNode(o: { natsUrl: string; cluster: string; nodeName: string; engine?: "simulated" | "process"; proxy?: boolean }): NodeProcess {
  const args = ["--import", "tsx", SELF, o.natsUrl, o.cluster, o.nodeName, o.engine ?? "simulated", o.proxy ? "proxy" : ""];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", process.env.FLOTILLA_NODE_LOG ? "inherit" : "ignore"], env: { ...process.env } });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  void exited.then(() => process.removeListener("exit", killOnExit));
  return {
    name: o.nodeName,
    child,
    exited,
    kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child.exitCode === null) child.kill(signal);
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const [natsUrl, cluster, nodeName, engine = "simulated", withProxy = ""] = argv;
  if (!natsUrl || !cluster || !nodeName) throw new Error("usage: node-process.ts <natsUrl> <cluster> <nodeName> [engine] [proxy]");
  const { startHost } = await import("../runtime/host.ts");
  const { kubelet } = await import("../actors/kubelet/index.ts");
  const { proxy } = await import("../actors/proxy/index.ts");
  const actors: { def: typeof kubelet | typeof proxy; opts: Record<string, unknown> }[] = [
    { def: kubelet, opts: { nodeName, engine, leaseDurationSeconds: 10, startLatencyMs: 0 } },
  ];
  if (withProxy === "proxy") actors.push({ def: proxy, opts: { nodeName } });
  await startHost({ natsUrl, cluster, actors, handleSignals: true });
}

if (process.argv[1] === SELF) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`node process failed: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
