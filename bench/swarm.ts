/**
 * A private Docker engine for Docker Swarm, never on the host's network: its own data root, exec
 * root, pidfile and unix socket under a temp dir, started inside `unshare --net --mount` (a fresh
 * network namespace with only loopback, a private mount table).
 *
 * Two shapes. `network: "none"` runs it with `--bridge=none --iptables=false`: its containers get no
 * network at all. `network: "bridge"` gives it a bridge of its own inside that namespace, with every
 * address one the project chose (`SWARM_ADDRESSES`): `docker0` is `--bip 10.211.0.1/24`, local
 * networks (Swarm's `docker_gwbridge`) come from 10.212.0.0/16, and `swarm init` is told to take
 * overlay networks (`ingress`, and any the bench creates) from 10.213.0.0/16. Its iptables rules
 * live in that namespace; `hostRulesFor` checks that the host's mention none of these ranges.
 *
 * @example
 *   const d = await startPrivateDockerd({ network: "bridge" });   // throws with the reason when it cannot start
 *   await swarmInit(d);  …  await d.stop();
 */
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { processTrees } from "./lib/proc.ts";

const run = promisify(execFile);

export async function docker(host: string | undefined, args: string[]): Promise<string> {
  const env = host ? { ...process.env, DOCKER_HOST: host } : process.env;
  const { stdout } = await run("docker", args, { env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The private engine's address ranges (nothing on the host uses them; they exist only in its namespace). */
export const SWARM_ADDRESSES = {
  bridge: "10.211.0.1/24",
  localPool: "10.212.0.0/16",
  swarmPool: "10.213.0.0/16",
  overlay: "10.214.0.0/24",
} as const;

/** How the private engine's containers are networked. */
export type PrivateNetwork = "none" | "bridge";

export interface PrivateDockerd {
  /** DOCKER_HOST value. */
  host: string;
  network: PrivateNetwork;
  stop(): Promise<void>;
}

/** The dockerd arguments for one shape (pure). */
export function privateDockerdArgs(dir: string, sock: string, network: PrivateNetwork): string[] {
  const base = ["--data-root", `${dir}/root`, "--exec-root", `${dir}/exec`, "--pidfile", `${dir}/docker.pid`, "-H", `unix://${sock}`, "--ip6tables=false"];
  return network === "none"
    ? [...base, "--bridge=none", "--iptables=false"]
    : [...base, "--bip", SWARM_ADDRESSES.bridge, "--default-address-pool", `base=${SWARM_ADDRESSES.localPool},size=24`];
}

/** `swarm init` on loopback, overlay networks from the project's range. */
export async function swarmInit(d: PrivateDockerd): Promise<void> {
  await docker(d.host, ["swarm", "init", "--advertise-addr", "127.0.0.1", "--default-addr-pool", SWARM_ADDRESSES.swarmPool]);
}

/** Names only a Swarm engine gives its bridge and chains (the host's engine is not in Swarm mode). */
const SWARM_NAMES = ["docker_gwbridge", "DOCKER-INGRESS"];

/** The lines of an `iptables-save` that mention one of `ranges` (by their first two octets) or a Swarm-only name (pure). */
export function rulesMentioning(iptablesSave: string, ranges: readonly string[]): string[] {
  const needles = [...ranges.map((r) => r.split(".").slice(0, 2).join(".") + "."), ...SWARM_NAMES];
  return iptablesSave.split("\n").filter((l) => needles.some((n) => l.includes(n)));
}

/** Host iptables rules that mention the private engine's ranges or Swarm's own chains (there should be none). */
export async function hostRulesFor(ranges: readonly string[] = Object.values(SWARM_ADDRESSES)): Promise<string[]> {
  const { stdout } = await run("iptables-save", [], { maxBuffer: 16 * 1024 * 1024 });
  return rulesMentioning(stdout, ranges);
}

/** Pids of processes whose command line names `dir` (the engine's containerd shims), and their descendants. */
function processesUnder(dir: string): number[] {
  const named = readdirSync("/proc").filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
    } catch {
      return false; // gone
    }
  });
  return processTrees(named.map(Number));
}

export async function startPrivateDockerd(o: { timeoutMs?: number; network?: PrivateNetwork } = {}): Promise<PrivateDockerd> {
  const network = o.network ?? "none";
  const dir = mkdtempSync("/tmp/flotilla-swarm-");
  const sock = join(dir, "docker.sock");
  const script = ["ip link set lo up", `exec dockerd ${privateDockerdArgs(dir, sock, network).join(" ")}`].join(" && ");
  const child = spawn("unshare", ["--net", "--mount", "--fork", "sh", "-c", script], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const host = `unix://${sock}`;
  const stop = async () => {
    // Containers first (a Swarm engine that stops with tasks running may leave their shims behind).
    const ids = (await docker(host, ["ps", "-aq"]).catch(() => "")).split("\n").filter(Boolean);
    if (ids.length) await docker(host, ["rm", "-f", ...ids]).catch(() => undefined);
    let pid: number | undefined;
    try {
      pid = Number(readFileSync(join(dir, "docker.pid"), "utf8").trim());
    } catch {
      pid = undefined;
    }
    if (pid) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        /* already gone */
      }
    }
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(t);
    process.removeListener("exit", killOnExit);
    for (const p of processesUnder(dir)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the private dockerd exited: ${log.trim().split("\n").slice(-2).join(" | ")}`);
    }
    if (await docker(host, ["info", "--format", "{{.ServerVersion}}"]).then(() => true, () => false)) return { host, network, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the private dockerd did not answer: ${log.slice(-300)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
