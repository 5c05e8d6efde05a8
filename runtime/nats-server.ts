/**
 * Embedded nats-server: finds the binary, writes a config (JetStream under the data dir, loopback
 * only, a system account for connection advisories, fast pings), starts it, waits until it accepts
 * clients and stops it cleanly.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, existsSync, mkdtempSync } from "node:fs";
import { readCheckedFile, writeFileAtomic } from "./atomic-file.ts";
import { createServer, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";

export interface NatsServerOptions {
  /** 0 = any free port. */
  port?: number;
  host?: string;
  dataDir?: string;
  /** The JetStream account (every actor) and the system account (the node controller). */
  account?: string;
  pingIntervalSeconds?: number;
  pingMax?: number;
  quiet?: boolean;
  /** Serve the server's HTTP monitoring endpoints (/varz, /connz) on this loopback port (0 = a free one). */
  monitorPort?: number;
}

export interface NatsServer {
  url: string;
  /** http://127.0.0.1:<port> when monitoring was asked for. */
  monitorUrl?: string;
  sysUrl: string;
  port: number;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
  /** Resolves when the process exits. */
  exited: Promise<number | null>;
}

export const FLOTILLA_ACCOUNT = "FLOTILLA";
const CANDIDATES = ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

export function findNatsServer(): string | undefined {
  if (process.env.NATS_SERVER_BIN && existsSync(process.env.NATS_SERVER_BIN)) return process.env.NATS_SERVER_BIN;
  for (const c of CANDIDATES) {
    const r = spawnSync(c, ["--version"], { encoding: "utf8" });
    if (r.status === 0) return c;
  }
  return undefined;
}

export const MISSING_NATS_SERVER =
  "nats-server was not found: install it with `sudo apt-get install -y nats-server` (Debian package nats-server), or set NATS_SERVER_BIN";

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function portAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = tcpConnect({ host, port });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

function secret(dir: string, name: string): string {
  const p = join(dir, name);
  const kept = readCheckedFile(p, (t) => (/^[A-Za-z0-9_-]+$/.test(t.trim()) ? t.trim() : undefined));
  if (kept) return kept;
  const v = randomBytes(18).toString("base64url");
  writeFileAtomic(p, v + "\n", { mode: 0o600 });
  return v;
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  if (!bin) throw new Error(MISSING_NATS_SERVER);
  const host = opts.host ?? "127.0.0.1";
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "flotilla-nats-"));
  const dir = join(dataDir, "nats");
  mkdirSync(join(dir, "jetstream"), { recursive: true });
  const port = opts.port && opts.port > 0 ? opts.port : await freePort(host);
  const account = opts.account ?? FLOTILLA_ACCOUNT;
  const monitorPort = opts.monitorPort === undefined ? undefined : opts.monitorPort > 0 ? opts.monitorPort : await freePort(host);
  const sysPw = secret(dir, "sys.password");
  const userPw = secret(dir, "flotilla.password");
  const conf = `# written by flotilla
listen: "${host}:${port}"
server_name: "flotilla-${port}"
max_payload: 8MB
ping_interval: "${opts.pingIntervalSeconds ?? 1}s"
ping_max: ${opts.pingMax ?? 2}
${monitorPort ? `http: "${host}:${monitorPort}"` : ""}
jetstream {
  store_dir: "${join(dir, "jetstream")}"
}
accounts {
  SYS: { users: [ { user: "sys", password: "${sysPw}" } ] }
  ${account}: { jetstream: enabled, users: [ { user: "flotilla", password: "${userPw}" } ] }
}
system_account: SYS
no_auth_user: "flotilla"
`;
  const confPath = join(dir, "nats-server.conf");
  writeFileAtomic(confPath, conf, { mode: 0o600 });
  if (await portAccepts(host, port)) throw new Error(`port ${host}:${port} is already in use; pick another with --port`);
  const child = spawn(bin, ["-c", confPath], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const collect = (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
    if (!opts.quiet && process.env.FLOTILLA_NATS_LOG) process.stderr.write(d);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${log.trim().split("\n").slice(-3).join(" | ")}`);
    if (log.includes("Server is ready") && (await portAccepts(host, port))) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server did not become ready in 15 s: ${log.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `nats://${host}:${port}`,
    monitorUrl: monitorPort ? `http://${host}:${monitorPort}` : undefined,
    sysUrl: `nats://sys:${encodeURIComponent(sysPw)}@${host}:${port}`,
    port,
    pid: child.pid!,
    dataDir,
    exited,
    async stop() {
      process.removeListener("exit", killOnExit);
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
