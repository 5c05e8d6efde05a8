/**
 * The process engine: each container is a host process in its own process group, started through
 * a tiny `sh` shim that forwards SIGTERM/SIGINT and records the exit code in a file, so a restarted
 * kubelet re-adopts running processes (pid files) and still learns how they ended.
 *
 * Layout under `<dataDir>/kubelet/<cluster>/<node>/` (so kubelets of other nodes or clusters never
 * see each other's work):
 *   sandboxes/<podUid>.json          pod identity, IP (127.0.0.1) and containerPort → host port map
 *   containers/<id>/meta.json        pod, container name, attempt, image, pid (= process group)
 *   containers/<id>/log              stdout + stderr
 *   containers/<id>/exit             exit code (written by the shim), its mtime is finishedAt
 *
 * Networking, loopback mode (the default): pods share the host network, so every declared
 * containerPort gets its own free loopback port, passed in as PORT, PORT_<NAME> and
 * PORT_<containerPort>.
 *
 * Networking, pod mode (`network` given, see process-netns.ts): each pod gets its own network
 * namespace with an address from the node's podCIDR, every container of the pod runs inside it
 * (`ip netns exec`), and ports are the pod's own (PORT = the containerPort). The sandbox file
 * records the namespace.
 *
 * Users (process-user.ts): a kubelet running as root runs every container as an unprivileged user
 * (the system user `flotilla-pod` unless `runAsUser`/`runAsGroup` say otherwise), in a mount
 * namespace of its own with a private /dev, and keeps `<dataDir>/kubelet` 0700: the container
 * reaches its volumes, its termination-message file and its working directory (`pods/<uid>/`,
 * 0777 like an emptyDir, entered before the switch) only through what was set up for it, and
 * none of the kubelet's or the cluster's files. Without root, containers run as the kubelet's
 * user, without namespaces, as before.
 */
import type { Engine, EngineContainer, SandboxInfo, SandboxOptions, ContainerConfig, PodRef, LogStream, ExecResult, LogOptions } from "./types.ts";
import type { ProcessPodNetwork } from "./process-netns.ts";
import { StartError } from "./types.ts";
import { spawn } from "node:child_process";
import type { Logger } from "../../../runtime/logger.ts";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, existsSync, openSync, closeSync, chmodSync } from "node:fs";
import { join, isAbsolute } from "node:path";
import { homedir } from "node:os";
import { randomBytes } from "node:crypto";
import { rfc3339 } from "../../../bus/time.ts";
import { tailText, followFile, stampLines } from "./log-files.ts";
import { writeFileAtomic, readJsonFile, readCheckedFile } from "../../../runtime/atomic-file.ts";
import { createLogger } from "../../../runtime/logger.ts";
import type { StreamSession, SessionOptions } from "./types.ts";
import { hostExecSession, hostAttachSession } from "./host-sessions.ts";
import { SERVICE_ACCOUNT_MOUNT_PATH } from "../../store/admission/service-account.ts";
import { ProcessCgroups } from "./process-cgroup.ts";
import type { ContainerUsage, RunAs, RunAsRequest } from "./types.ts";
import { canMountNamespaces, createMountPoints, inMountNamespace, removeMountPoints } from "../volumes/mount-namespace.ts";
import type { Meta, ProcessSandbox } from "./process-files.ts";
import { isMeta, isSandbox, SHIM, envOf, freePort, alive, findExecutable, MOUNT_SETUP_TIMEOUT_MS, waitUntil } from "./process-files.ts";
import type { PodUser } from "./process-user.ts";
import { ensurePodUser, resolveRunAs, readPasswd, dropPrivileges } from "./process-user.ts";
import { commandRunner } from "../../../runtime/command.ts";

export interface ProcessOptions {
  dataDir?: string;
  cluster: string;
  nodeName: string;
  log?: Logger;
  /** Pods in network namespaces of their own (pod networking mode); absent: loopback mode. */
  network?: ProcessPodNetwork;
  /** Where cgroups are mounted (default /sys/fs/cgroup): limits and usage (process-cgroup.ts). */
  cgroupRoot?: string;
}


export function defaultDataDir(): string {
  return join(process.env.FLOTILLA_DATA_DIR ?? join(homedir(), ".flotilla"));
}

export class ProcessEngine implements Engine {
  readonly name = "process" as const;
  readonly root: string;
  private exitCbs: ((c: { id: string; pod: PodRef }) => void)[] = [];
  private watched = new Set<string>();
  private poll?: NodeJS.Timeout;
  private readonly log: Logger;
  readonly network?: ProcessPodNetwork;
  readonly cgroups: ProcessCgroups;
  private readonly dataDir: string;
  /** The default identity of pods, once init() has found or created it (only when root). */
  private podUser?: PodUser;

  constructor(opts: ProcessOptions) {
    this.dataDir = opts.dataDir ?? defaultDataDir();
    this.root = join(this.dataDir, "kubelet", opts.cluster, opts.nodeName);
    this.log = opts.log ?? createLogger("process-engine", { node: opts.nodeName });
    this.network = opts.network;
    this.cgroups = new ProcessCgroups({ root: opts.cgroupRoot, cluster: opts.cluster, nodeName: opts.nodeName, log: this.log });
  }

  private dir(...p: string[]): string {
    return join(this.root, ...p);
  }

  async init(): Promise<void> {
    mkdirSync(this.dir("sandboxes"), { recursive: true });
    mkdirSync(this.dir("containers"), { recursive: true });
    if (canMountNamespaces()) {
      // Pods run as another user: nothing of the kubelet's state is theirs to read.
      chmodSync(join(this.dataDir, "kubelet"), 0o700);
      this.podUser = await ensurePodUser(commandRunner());
      this.log.debug("pods run as", { ...this.podUser });
    }
    // Re-adopted processes are not our children: poll them for exit.
    this.poll = setInterval(() => this.pollAdopted(), 250);
    this.poll.unref();
    for (const m of this.metas()) if (!this.exitedCode(m) && alive(m.pid)) this.watched.add(m.id);
  }

  private pollAdopted(): void {
    for (const id of this.watched) {
      const m = this.meta(id);
      if (!m) {
        this.watched.delete(id);
        continue;
      }
      if (!alive(m.pid)) {
        this.watched.delete(id);
        for (const cb of this.exitCbs) cb({ id, pod: m.pod });
      }
    }
  }

  private metas(): Meta[] {
    const out: Meta[] = [];
    for (const id of readdirSync(this.dir("containers"))) {
      const m = this.meta(id);
      if (m) out.push(m);
    }
    return out;
  }

  /** A container's meta file; a corrupt one is set aside and the container forgotten. */
  private meta(id: string): Meta | undefined {
    return readJsonFile(this.dir("containers", id, "meta.json"), isMeta, this.log);
  }

  private exitedCode(m: Meta): { code: number; at: string } | undefined {
    for (const f of ["exit", "killed"]) {
      const p = this.dir("containers", m.id, f);
      if (!existsSync(p)) continue;
      const at = new Date(statSync(p).mtimeMs).toISOString();
      const code = readCheckedFile(p, (t) => (/^\s*\d{1,3}\s*$/.test(t) ? Number(t.trim()) : undefined), this.log);
      if (code !== undefined) return { code, at };
    }
    return undefined;
  }

  private view(m: Meta): EngineContainer {
    const base = { id: m.id, pod: m.pod, name: m.name, attempt: m.attempt, init: m.init, image: m.image, imageID: m.imageID, startedAt: m.startedAt };
    const ended = this.exitedCode(m);
    const failed = () => (this.cgroups.oomKilled(m.id) ? "OOMKilled" : "Error");
    if (ended) return { ...base, state: "exited", exitCode: ended.code, finishedAt: ended.at, reason: ended.code === 0 ? "Completed" : failed() };
    if (alive(m.pid)) return { ...base, state: "running" };
    // Died without a trace (shim killed from outside, or by the OOM killer): report it as killed.
    return { ...base, state: "exited", exitCode: 137, finishedAt: new Date().toISOString(), reason: failed() };
  }

  async listSandboxes(): Promise<SandboxInfo[]> {
    return readdirSync(this.dir("sandboxes"))
      .filter((f) => f.endsWith(".json"))
      .flatMap((f) => readJsonFile(this.dir("sandboxes", f), isSandbox, this.log) ?? []);
  }

  async listContainers(): Promise<EngineContainer[]> {
    return this.metas().map((m) => this.view(m));
  }

  async ensureSandbox(pod: PodRef, opts: Pick<SandboxOptions, "ports"> & Partial<SandboxOptions>): Promise<SandboxInfo> {
    const file = this.dir("sandboxes", `${pod.uid}.json`);
    const existing = readJsonFile(file, isSandbox, this.log);
    if (existing) return existing;
    const hostPorts: Record<string, number> = {};
    let s: ProcessSandbox;
    if (this.network && !opts.hostNetwork) {
      // The pod owns its ports: containerPort is the port (recorded so PORT env keeps working).
      const { netns, ip } = await this.network.attach(pod.uid, { resolvConf: opts.resolvConf, hostname: opts.hostname ?? pod.name });
      for (const p of opts.ports) hostPorts[String(p.containerPort)] = p.containerPort;
      s = { pod, id: pod.uid, ip, hostPorts, createdAt: rfc3339(Date.now()), netns };
    } else {
      for (const p of opts.ports) hostPorts[String(p.containerPort)] ??= await freePort();
      s = { pod, id: pod.uid, ip: "127.0.0.1", hostPorts, createdAt: rfc3339(Date.now()) };
    }
    mkdirSync(this.dir("pods", pod.uid), { recursive: true });
    // The pod's working directory is shared by its containers, whoever they run as (like an emptyDir).
    if (this.podUser) chmodSync(this.dir("pods", pod.uid), 0o777);
    writeFileAtomic(file, JSON.stringify(s));
    return s;
  }

  /** Root: the identity asked for, else the dedicated pod user. Not root: undefined (the kubelet's own user). */
  runAs(req: RunAsRequest): RunAs | undefined {
    return this.podUser ? resolveRunAs(req, this.podUser, readPasswd()) : undefined;
  }

  async ensureImage(image: string): Promise<{ imageID: string; pulled: boolean }> {
    return { imageID: `process://${image}`, pulled: false };
  }

  /**
   * Port env: PORT (the container's first declared port), PORT_<NAME> for its named ports, and
   * PORT_<containerPort> for every port of the pod (so sibling containers find each other).
   */
  portEnv(sandbox: SandboxInfo, cfg: ContainerConfig): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [cp, hp] of Object.entries(sandbox.hostPorts)) env[`PORT_${cp}`] = String(hp);
    let first: number | undefined;
    for (const p of cfg.ports) {
      const hp = sandbox.hostPorts[String(p.containerPort)];
      if (hp === undefined) continue;
      first ??= hp;
      if (p.name) env[`PORT_${p.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`] = String(hp);
    }
    if (first !== undefined) env.PORT = String(first);
    return env;
  }

  async startContainer(sandbox: SandboxInfo, cfg: ContainerConfig, imageID: string): Promise<EngineContainer> {
    const id = `${sandbox.pod.uid.slice(0, 8)}-${cfg.name}-${cfg.attempt}-${randomBytes(3).toString("hex")}`;
    const cdir = this.dir("containers", id);
    const env = { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOME: "/", HOSTNAME: sandbox.pod.name, ...this.portEnv(sandbox, cfg), ...cfg.env };
    const argv = cfg.command?.length ? [...cfg.command, ...(cfg.args ?? [])] : cfg.args?.length ? cfg.args : ["sleep", "infinity"];
    const exe = findExecutable(argv[0]!, env.PATH);
    if (!exe) throw new StartError(`exec: "${argv[0]}": executable file not found in $PATH`);
    const cwd = cfg.workingDir ?? this.dir("pods", sandbox.pod.uid);
    if (!isAbsolute(cwd) || !existsSync(cwd)) throw new StartError(`chdir to cwd ("${cwd}") set in config.json failed: no such file or directory`);
    let mounts = cfg.mounts ?? [];
    const ownNs = canMountNamespaces();
    if (mounts.length > 0 && !ownNs) {
      // Without root there are no mount namespaces: every pod's ServiceAccount volume is left out
      // (the pod runs without an API identity); any other volume cannot be honoured.
      mounts = mounts.filter((m) => m.target !== SERVICE_ACCOUNT_MOUNT_PATH);
      if (mounts.length > 0) throw new StartError("volume mounts on the process engine need root (a mount namespace per container)");
    }
    if (mounts.length > 0) this.recordMountPoints(sandbox.pod.uid, createMountPoints(mounts, { privateDev: ownNs }));
    mkdirSync(cdir, { recursive: true });
    // Root: every container gets a mount namespace with a private /dev (staged in its own directory).
    if (ownNs) mkdirSync(join(cdir, "dev"), { recursive: true });
    const log = openSync(join(cdir, "log"), "a");
    const netns = (sandbox as ProcessSandbox).netns;
    const user = this.podUser ? (cfg.user ?? this.runAs({ supplementalGroups: [] })) : undefined;
    // The shim stays root (it writes the exit file); only the command runs as the container's user.
    const shim = ["/bin/sh", "-c", SHIM, "shim", join(cdir, "exit"), ...(user ? dropPrivileges(user) : []), ...argv];
    // `ip netns exec` execs the shim (or the mount namespace wrapper) in place, so the pid (and
    // process group) is the shim's.
    // The first process joins the container's cgroups (limits) before anything else runs.
    const join_ = this.cgroups.create(id, { cpuMillis: cfg.cpuMillis, cpuRequestMillis: cfg.cpuRequestMillis, memoryBytes: cfg.memoryBytes });
    const ready = join(cdir, "ready");
    const [cmd0, ...rest] = [...join_, ...this.wrap(netns, ownNs ? inMountNamespace(mounts, shim, { devStaging: join(cdir, "dev"), ready }) : shim)];
    const child = spawn(cmd0!, rest, { cwd, env, detached: true, stdio: ["ignore", log, log] });
    closeSync(log);
    const pid = child.pid;
    if (pid === undefined) throw new StartError(`could not start ${argv[0]}`);
    child.unref();
    const m: Meta = { id, pod: sandbox.pod, name: cfg.name, attempt: cfg.attempt, init: cfg.init, image: cfg.image, imageID, pid, startedAt: new Date().toISOString(), cwd, mountNs: ownNs, ...(netns ? { netns } : {}), ...(user ? { user } : {}) };
    writeFileAtomic(join(cdir, "meta.json"), JSON.stringify(m));
    child.once("exit", () => {
      this.watched.delete(id);
      for (const cb of this.exitCbs) cb({ id, pod: m.pod });
    });
    // Hooks, probes and exec enter the container's namespace: not before its mounts are in place.
    if (ownNs) await waitUntil(() => existsSync(ready) || !alive(pid), MOUNT_SETUP_TIMEOUT_MS);
    return this.view(m);
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const m = this.meta(id);
    if (!m || !alive(m.pid)) return;
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-m.pid, sig);
      } catch {
        /* gone */
      }
    };
    group("SIGTERM");
    const deadline = Date.now() + graceSeconds * 1000;
    while (alive(m.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    if (alive(m.pid)) {
      if (!this.exitedCode(m)) writeFileAtomic(this.dir("containers", id, "killed"), "137");
      group("SIGKILL");
      while (alive(m.pid)) await new Promise((r) => setTimeout(r, 10));
    }
  }

  async removeContainer(id: string): Promise<void> {
    this.watched.delete(id);
    await this.cgroups.remove(id);
    rmSync(this.dir("containers", id), { recursive: true, force: true });
  }

  /** Usage of the running containers, from their cgroups (nothing without cgroups). */
  async stats(): Promise<ContainerUsage[]> {
    const out: ContainerUsage[] = [];
    for (const m of this.metas()) {
      if (this.exitedCode(m) || !alive(m.pid)) continue;
      const u = this.cgroups.usage(m.id);
      if (u) out.push({ id: m.id, pod: m.pod, name: m.name, ...u, at: Date.now() });
    }
    return out;
  }

  /** Mount points made on the host for this pod's volumes (removed with the sandbox). */
  private recordMountPoints(uid: string, created: string[]): void {
    if (created.length === 0) return;
    // Not in pods/<uid>/, which the pod's containers may write to.
    mkdirSync(this.dir("mountpoints"), { recursive: true });
    const file = this.dir("mountpoints", `${uid}.json`);
    const old = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as string[]) : [];
    writeFileAtomic(file, JSON.stringify([...old, ...created]));
  }

  async removeSandbox(id: string): Promise<void> {
    const s = readJsonFile(this.dir("sandboxes", `${id}.json`), isSandbox, this.log) as ProcessSandbox | undefined;
    if (s?.netns) await this.network?.detach(s.pod.uid);
    removeMountPoints(this.dir("mountpoints", `${id}.json`));
    rmSync(this.dir("mountpoints", `${id}.json`), { force: true });
    // Written by earlier versions (the pods' containers then ran as the kubelet's user).
    removeMountPoints(this.dir("pods", id, "mountpoints.json"));
    rmSync(this.dir("sandboxes", `${id}.json`), { force: true });
    rmSync(this.dir("pods", id), { recursive: true, force: true });
  }

  async exec(containerId: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    const m = this.meta(containerId);
    if (!m || command.length === 0) return { exitCode: 126, output: "container not found" };
    return new Promise((resolve) => {
      const argv = this.inContainer(m, command);
      const p = spawn(argv[0]!, argv.slice(1), { cwd: m.cwd, env: envOf(m), stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" });
      let output = "";
      p.stdout.on("data", (d) => (output += d));
      p.stderr.on("data", (d) => (output += d));
      p.once("error", (e) => resolve({ exitCode: 127, output: e.message }));
      p.once("close", (code, signal) => resolve({ exitCode: code ?? (signal ? 137 : 1), output }));
    });
  }

  /** A command run inside a container: its mount namespace (volumes), its pod's network namespace, as its user. */
  inContainer(m: Meta, command: string[]): string[] {
    const argv = [...(m.user ? dropPrivileges(m.user) : []), ...command];
    // Entering a mount namespace moves the caller to its root: the working directory is entered
    // again inside (nsenter's --wd=<dir> opens it outside, which leaves the command a directory
    // getcwd cannot name once it is not root).
    if (m.mountNs && alive(m.pid)) return ["nsenter", "-t", String(m.pid), "-m", ...(m.netns ? ["-n"] : []), "--", "/bin/sh", "-c", 'cd "$0" && exec "$@"', m.cwd, ...argv];
    return this.wrap(m.netns, argv);
  }

  async execSession(containerId: string, command: string[], o: SessionOptions): Promise<StreamSession> {
    const m = this.meta(containerId);
    if (!m || !alive(m.pid)) throw new StartError(`container ${containerId} is not running`);
    return hostExecSession(this.inContainer(m, command), envOf(m), m.cwd, o);
  }

  async attachSession(containerId: string, o: SessionOptions): Promise<StreamSession> {
    const m = this.meta(containerId);
    if (!m || !alive(m.pid)) throw new StartError(`container ${containerId} is not running`);
    return hostAttachSession(this.dir("containers", containerId, "log"), () => (this.view(m).state === "exited" ? this.view(m).exitCode : undefined), o);
  }

  /** Pods share the host's network: a containerPort is reached at its host port on loopback. */
  podPortAddress(sandbox: SandboxInfo, port: number): { host: string; port: number } {
    return { host: sandbox.ip, port: sandbox.hostPorts[String(port)] ?? port };
  }

  async logs(containerId: string, opts: LogOptions): Promise<LogStream> {
    const file = this.dir("containers", containerId, "log");
    if (!existsSync(file)) return { chunks: (async function* () {})(), cancel() {} };
    const m = this.meta(containerId);
    const done = () => !m || this.view(m).state === "exited";
    const text = tailText(readFileSync(file, "utf8"), opts.tailLines);
    const stamp = (s: string) => (opts.timestamps ? stampLines(s, new Date()) : s);
    if (!opts.follow) return { chunks: (async function* () { if (text) yield stamp(text); })(), cancel() {} };
    const f = followFile(file, statSync(file).size, done);
    return {
      chunks: (async function* () {
        if (text) yield stamp(text);
        for await (const c of f.chunks) yield stamp(c);
      })(),
      cancel: f.cancel,
    };
  }

  /** argv that runs inside the pod's namespace (when it has one). */
  private wrap(netns: string | undefined, argv: string[]): string[] {
    return netns ? ["ip", "netns", "exec", netns, ...argv] : argv;
  }

  onExit(cb: (c: { id: string; pod: PodRef }) => void): void {
    this.exitCbs.push(cb);
  }

  async close(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
  }
}
