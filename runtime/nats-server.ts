/**
 * Embedded nats-server: finds the binary, writes a config (JetStream under the data dir, loopback
 * only, a system account for connection advisories, fast pings), starts it, waits until it accepts
 * clients and stops it cleanly.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, existsSync, mkdtempSync, createWriteStream, statSync, renameSync } from "node:fs";
import { readCheckedFile, writeFileAtomic } from "./atomic-file.ts";
import { createServer, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";

/** nats-server's log file is started afresh (the old one kept as `.1`) at a start past this size. */
const LOG_ROTATE_BYTES = 16 * 1024 * 1024;

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
  /** Append everything nats-server prints to this file (a server keeps it beside its config for operators). */
  logFile?: string;
  /** Serve the server's HTTP monitoring endpoints (/varz, /connz, /jsz) on this port (0 = a free one). */
  monitorPort?: number;
  /** Where the monitoring endpoints listen (default: `host`; servers keep them on 127.0.0.1). */
  monitorHost?: string;
  /** Unique in a NATS cluster (default `flotilla-<port>`). */
  serverName?: string;
  /** Join a NATS cluster: routes to the other servers, JetStream clustered (see docs/ha.md). */
  cluster?: NatsClusterOptions;
  /** Accept leaf-node connections (workers behind NAT) on host:port. */
  leafListen?: string;
  /** Passwords of the system and flotilla users (default: random, kept in the config dir). */
  passwords?: { sys: string; user?: string };
  /**
   * The cluster account's users, each with its own password and subject permissions. Given: there
   * is no anonymous user, every connection authenticates (every `flotilla` command passes them).
   * Absent: the one `flotilla` user is also the anonymous user (in-process specs only).
   */
  users?: NatsUser[];
  /** Where the config and JetStream live (default `<dataDir>/nats`). */
  configDir?: string;
  /** A leaf node: connect out to these `nats-leaf://user:pass@host:port` URLs (the cluster's account); no JetStream here. */
  leafRemotes?: string[];
  /** The CA the leaf remotes' servers are verified with (TLS on the leaf connection). */
  leafRemoteCaFile?: string;
  /**
   * JetStream domain. On a server with JetStream: the domain its JetStream answers in (also as
   * `$JS.<domain>.API.>`). On a leaf node (no JetStream): the hub's domain, to which the account's
   * `$JS.API.>` is forwarded (`default_js_domain`), so clients there use JetStream unchanged.
   */
  jetstreamDomain?: string;
  /**
   * TLS with this certificate on client and leaf-node connections: a client must speak TLS and
   * verify the server against the CA; it needs no certificate of its own (it authenticates with
   * its user and password, which then never travel in the clear).
   */
  tls?: NatsTls;
}

export interface NatsPermissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
}

export interface NatsUser {
  user: string;
  password: string;
  /** Absent: everything in the account (the store, the admin). */
  permissions?: NatsPermissions;
}

export interface NatsTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface NatsClusterOptions {
  name: string;
  /** host:port the route listener binds. */
  listen: string;
  /** host:port of the other servers' route listeners (this server's own address is skipped). */
  routes: string[];
  /** Password every route presents (the same on every server of the cluster). */
  routePassword: string;
  /** TLS on routes with this server's certificate from the cluster CA; peers are verified against the CA. */
  tls?: NatsTls;
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
  /** Rewrites the config with these users and has the running server reload it (SIGHUP). */
  reload(users: NatsUser[]): void;
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

/** `n` distinct free ports on a host (all held open together while they are picked). */
export async function freePorts(host: string, n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.on("error", reject);
          s.listen(0, host, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function portAccepts(host: string, port: number): Promise<boolean> {
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

/** The `cluster {}` block: authorised routes to every other server. */
export function clusterBlock(c: NatsClusterOptions): string {
  const others = [...new Set(c.routes)].filter((r) => r !== c.listen);
  const pw = JSON.stringify(c.routePassword);
  const routes = others.map((r) => `"nats-route://route:${encodeURIComponent(c.routePassword)}@${r}"`).join(", ");
  return `cluster {
  name: "${c.name}"
  listen: "${c.listen}"
  authorization { user: "route", password: ${pw} }
  routes: [ ${routes} ]
${c.tls ? tlsBlock(c.tls) : ""}
}`;
}

/** A `tls {}` block: this server's certificate, and the CA it verifies the servers it connects to with. */
export function tlsBlock(t: NatsTls): string {
  return `  tls { cert_file: ${JSON.stringify(t.certFile)}, key_file: ${JSON.stringify(t.keyFile)}, ca_file: ${JSON.stringify(t.caFile)}, timeout: 5 }`;
}

function usersBlock(users: NatsUser[]): string {
  return users.map((u) => JSON.stringify({ user: u.user, password: u.password, ...(u.permissions ? { permissions: u.permissions } : {}) })).join(",\n    ");
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  if (!bin) throw new Error(MISSING_NATS_SERVER);
  const host = opts.host ?? "127.0.0.1";
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "flotilla-nats-"));
  const dir = opts.configDir ?? join(dataDir, "nats");
  mkdirSync(join(dir, "jetstream"), { recursive: true, mode: 0o700 });
  const port = opts.port && opts.port > 0 ? opts.port : await freePort(host);
  const account = opts.account ?? FLOTILLA_ACCOUNT;
  const monitorHost = opts.monitorHost ?? host;
  const monitorPort = opts.monitorPort === undefined ? undefined : opts.monitorPort > 0 ? opts.monitorPort : await freePort(monitorHost);
  const sysPw = opts.passwords?.sys ?? secret(dir, "sys.password");
  const userPw = opts.users ? "" : (opts.passwords?.user ?? secret(dir, "flotilla.password"));
  const render = (users: NatsUser[] | undefined) => `# written by flotilla
listen: "${host}:${port}"
server_name: "${opts.serverName ?? `flotilla-${port}`}"
max_payload: 8MB
${process.env.FLOTILLA_NATS_DEBUG ? "debug: true" : ""}
ping_interval: "${opts.pingIntervalSeconds ?? 1}s"
ping_max: ${opts.pingMax ?? 2}
${monitorPort ? `http: "${monitorHost}:${monitorPort}"` : ""}
${opts.leafRemotes ? "" : `jetstream {
  store_dir: "${join(dir, "jetstream")}"
${opts.jetstreamDomain ? `  domain: ${JSON.stringify(opts.jetstreamDomain)}` : ""}
}`}
${opts.leafRemotes && opts.jetstreamDomain ? `default_js_domain: { ${account}: ${JSON.stringify(opts.jetstreamDomain)} }` : ""}
accounts {
  SYS: { users: [ { user: "sys", password: "${sysPw}" } ] }
  ${account}: { ${opts.leafRemotes ? "" : "jetstream: enabled, "}users: [
    ${users ? usersBlock(users) : `{ user: "flotilla", password: "${userPw}" }`}
  ] }
}
system_account: SYS
${users ? "" : 'no_auth_user: "flotilla"'}
${opts.cluster ? clusterBlock(opts.cluster) : ""}
${opts.tls ? tlsBlock(opts.tls) : ""}
${opts.leafListen ? `leafnodes {\n  listen: "${opts.leafListen}"\n${opts.tls ? tlsBlock(opts.tls) : ""}\n}` : ""}
${opts.leafRemotes ? `leafnodes { remotes: [ { urls: [ ${opts.leafRemotes.map((u) => JSON.stringify(u)).join(", ")} ], account: "${account}"${opts.leafRemoteCaFile ? `, tls: { ca_file: ${JSON.stringify(opts.leafRemoteCaFile)} }` : ""} } ] }` : ""}
`;
  const conf = render(opts.users);
  const confPath = join(dir, "nats-server.conf");
  writeFileAtomic(confPath, conf, { mode: 0o600 });
  if (await portAccepts(host, port)) throw new Error(`port ${host}:${port} is already in use; pick another with --port`);
  const child = spawn(bin, ["-c", confPath], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  // Kept across restarts; past LOG_ROTATE_BYTES the old file becomes `<file>.1` (one generation).
  if (opts.logFile && existsSync(opts.logFile) && statSync(opts.logFile).size > LOG_ROTATE_BYTES) renameSync(opts.logFile, `${opts.logFile}.1`);
  const logFile = opts.logFile ? createWriteStream(opts.logFile, { flags: "a", mode: 0o600 }) : undefined;
  logFile?.on("error", () => undefined);
  child.once("exit", () => logFile?.end());
  const collect = (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
    logFile?.write(d);
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
    monitorUrl: monitorPort ? `http://${monitorHost}:${monitorPort}` : undefined,
    sysUrl: `nats://sys:${encodeURIComponent(sysPw)}@${host}:${port}`,
    port,
    pid: child.pid!,
    dataDir,
    exited,
    reload(users) {
      writeFileAtomic(confPath, render(users), { mode: 0o600 });
      if (child.exitCode === null) child.kill("SIGHUP");
    },
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

export interface SupervisedNatsServer {
  /** The process running now (a new one after each restart). */
  readonly current: NatsServer;
  readonly restarts: number;
  /** From now on a death is not followed by a start (the owner is stopping; the process may still run). */
  stopping(): void;
  stop(): Promise<void>;
}

/**
 * Keeps a nats-server running: when the process dies without being asked to stop, it is started
 * again with the same config after a capped back-off (250 ms doubling to 5 s).
 *
 * @example
 *   const nats = await superviseNatsServer(() => startNatsServer(opts), { onRestart: (s) => writePids(s.pid) });
 */
export async function superviseNatsServer(
  start: () => Promise<NatsServer>,
  o: { onRestart?: (s: NatsServer) => void; onError?: (e: Error) => void } = {},
): Promise<SupervisedNatsServer> {
  let current = await start();
  let stopped = false;
  let restarts = 0;
  const watch = (s: NatsServer): void => {
    void s.exited.then(async () => {
      let delay = 250;
      while (!stopped) {
        try {
          await new Promise((r) => setTimeout(r, delay));
          if (stopped) return;
          current = await start();
          restarts++;
          o.onRestart?.(current);
          watch(current);
          return;
        } catch (e) {
          o.onError?.(e as Error);
          delay = Math.min(delay * 2, 5000);
        }
      }
    });
  };
  watch(current);
  return {
    get current() {
      return current;
    },
    get restarts() {
      return restarts;
    },
    stopping() {
      stopped = true;
    },
    async stop() {
      stopped = true;
      await current.stop();
    },
  };
}
