/**
 * A private Docker engine for Docker Swarm, never on the host's network: its own data root, exec
 * root, pidfile and unix socket under a temp dir, `--bridge=none --iptables=false`, started inside
 * `unshare --net --mount` (a fresh network namespace with only loopback, a private mount table).
 *
 * @example
 *   const d = await startPrivateDockerd();   // throws with the reason when it cannot start
 *   docker(d.host, ["swarm", "init", "--advertise-addr", "127.0.0.1"]);  await d.stop();
 */
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export async function docker(host: string | undefined, args: string[]): Promise<string> {
  const env = host ? { ...process.env, DOCKER_HOST: host } : process.env;
  const { stdout } = await run("docker", args, { env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export interface PrivateDockerd {
  /** DOCKER_HOST value. */
  host: string;
  stop(): Promise<void>;
}

export async function startPrivateDockerd(o: { timeoutMs?: number } = {}): Promise<PrivateDockerd> {
  const dir = mkdtempSync("/tmp/flotilla-swarm-");
  const sock = join(dir, "docker.sock");
  const script = [
    "ip link set lo up",
    `exec dockerd --data-root ${dir}/root --exec-root ${dir}/exec --pidfile ${dir}/docker.pid -H unix://${sock} --bridge=none --iptables=false --ip6tables=false`,
  ].join(" && ");
  const child = spawn("unshare", ["--net", "--mount", "--fork", "sh", "-c", script], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const host = `unix://${sock}`;
  const stop = async () => {
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
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the private dockerd exited: ${log.trim().split("\n").slice(-2).join(" | ")}`);
    }
    if (await docker(host, ["info", "--format", "{{.ServerVersion}}"]).then(() => true, () => false)) return { host, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the private dockerd did not answer: ${log.slice(-300)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
