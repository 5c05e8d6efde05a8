/**
 * The Docker engine (dockerode). A pod is a sandbox container (busybox `sleep`, the pod's hostname,
 * `IpcMode: shareable`) that owns the network namespace; the pod's containers join it with
 * `NetworkMode`/`IpcMode` `container:<sandbox>`. Everything carries labels for cluster, node, pod
 * and container, and every query filters on cluster + node, so kubelets sharing one dockerd never
 * touch each other's containers. Exits arrive through the label-filtered `die` event stream
 * (re-listed after the stream breaks). Every container runs with `Init: true`.
 */
import type { Engine, EngineContainer, SandboxInfo, SandboxOptions, ContainerConfig, ContainerUsage, PodRef, LogStream, ExecResult, LogOptions } from "./types.ts";
import type { DockerPodNetwork } from "./docker-network.ts";
import { dockerStats } from "./docker-stats.ts";
import Docker from "dockerode";
import { PassThrough } from "node:stream";
import { writeFile } from "node:fs/promises";
import { ImageError, StartError } from "./types.ts";
import { rfc3339 } from "../../../bus/time.ts";
import { tailText } from "./log-files.ts";
import { ensureBusyboxImageSync, BUSYBOX_IMAGE } from "./busybox-image.ts";
import { discoverBridgeAddress, bridgeGatewayOf } from "./docker-bridge.ts";
import type { StreamSession, SessionOptions } from "./types.ts";
import { dockerExecSession, dockerAttachSession } from "./docker-sessions.ts";
import { Semaphore } from "../../../runtime/semaphore.ts";
import { Coalesced } from "../../../runtime/coalesce.ts";

export const Label = {
  cluster: "flotilla.cluster",
  node: "flotilla.node",
  podUid: "flotilla.pod.uid",
  podName: "flotilla.pod.name",
  podNamespace: "flotilla.pod.namespace",
  container: "flotilla.container",
  attempt: "flotilla.attempt",
  init: "flotilla.init",
  role: "flotilla.role",
} as const;

export interface DockerOptions {
  cluster: string;
  nodeName: string;
  socketPath?: string;
  sandboxImage?: string;
  /** Pod networking: sandboxes join the node's bridge network (its podCIDR) and get the pod's resolv.conf. */
  network?: DockerPodNetwork;
  /**
   * How many sandboxes and containers are created and started at once (default
   * DEFAULT_DOCKER_START_CONCURRENCY, the engine's best measured level; 0: no limit beyond the pod workers').
   */
  startConcurrency?: number;
}

/**
 * The parallelism at which this machine's dockerd created and started busybox containers fastest
 * (bench/docker-peer.ts `engineConcurrency`; bench/measured/docker-peer-2026-12-01-concurrency.md).
 */
export const DEFAULT_DOCKER_START_CONCURRENCY = 16;

type Inspect = Docker.ContainerInspectInfo;

const statusCode = (e: unknown) => (e as { statusCode?: number }).statusCode;
const ignore = (...codes: number[]) => (e: unknown) => {
  if (!codes.includes(statusCode(e) ?? 0)) throw e;
};
const sanitize = (s: string) => s.replace(/[^a-zA-Z0-9_.-]/g, "-");
const time = (s: string | undefined) => (s && !s.startsWith("0001") ? new Date(Date.parse(s.replace(/(\.\d{3})\d*/, "$1"))).toISOString() : undefined);

/** Splits Docker's multiplexed log frames (8-byte headers) into text. */
export function demuxBuffer(buf: Buffer): string {
  let out = "";
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString("utf8");
    i += 8 + len;
  }
  return out;
}

/** Docker's container state in the engine's terms. */
function stateOf(status: string): EngineContainer["state"] {
  return status === "created" ? "created" : status === "exited" || status === "dead" ? "exited" : "running";
}

export class DockerEngine implements Engine {
  readonly name = "docker" as const;
  readonly docker: Docker;
  private exitCbs: ((c: { id: string; pod: PodRef }) => void)[] = [];
  /** What each container looked like when last inspected (see listContainers). */
  private readonly views = new Map<string, EngineContainer>();
  private events?: NodeJS.ReadableStream;
  private closed = false;
  private readonly sandboxImage: string;
  /** Bounds concurrent create + start calls (the pod workers alone would send up to 16 at once). */
  readonly starts: Semaphore;
  /**
   * The node's containers and sandboxes in one list call, shared by the pod workers that ask at the
   * same time (each still gets a listing sent after it asked): a burst of syncs costs the engine a
   * few list calls instead of two per sync.
   */
  private readonly listing: Coalesced<Docker.ContainerInfo[]>;

  constructor(private readonly o: DockerOptions) {
    this.docker = new Docker(o.socketPath ? { socketPath: o.socketPath } : {});
    this.sandboxImage = o.sandboxImage ?? BUSYBOX_IMAGE;
    this.starts = new Semaphore(o.startConcurrency ?? DEFAULT_DOCKER_START_CONCURRENCY);
    this.listing = new Coalesced(() => this.docker.listContainers({ all: true, filters: this.filters() }));
  }

  private async listRole(role: "sandbox" | "container"): Promise<Docker.ContainerInfo[]> {
    return (await this.listing.get()).filter((c) => c.Labels?.[Label.role] === role);
  }

  private filters(): string {
    return JSON.stringify({ label: [`${Label.cluster}=${this.o.cluster}`, `${Label.node}=${this.o.nodeName}`] });
  }

  /** The bridge gateway (see docker-bridge.ts); learnt from the first sandbox when init() could not tell. */
  nodeAddressForPods?: string;

  async init(): Promise<void> {
    await this.docker.ping();
    // With pod networking, pods reach Services at their ClusterIPs: no bridge address is handed out.
    if (!this.o.network) this.nodeAddressForPods = (await discoverBridgeAddress(this.docker))?.address;
    if (this.sandboxImage === BUSYBOX_IMAGE) ensureBusyboxImageSync(BUSYBOX_IMAGE, this.o.socketPath ? `unix://${this.o.socketPath}` : undefined);
    await this.watchEvents();
  }

  private async watchEvents(): Promise<void> {
    const label = [`${Label.cluster}=${this.o.cluster}`, `${Label.node}=${this.o.nodeName}`];
    const stream = (await this.docker.getEvents({ filters: JSON.stringify({ type: ["container"], event: ["die"], label }) })) as NodeJS.ReadableStream;
    this.events = stream;
    let buf = "";
    stream.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const ev = JSON.parse(line) as { id: string; Actor?: { Attributes?: Record<string, string> } };
          const a = ev.Actor?.Attributes ?? {};
          if (a[Label.podUid]) this.fire(ev.id, { uid: a[Label.podUid]!, name: a[Label.podName] ?? "", namespace: a[Label.podNamespace] ?? "" });
        } catch {
          /* partial line */
        }
      }
    });
    const restart = () => {
      if (this.closed || this.events !== stream) return;
      this.events = undefined;
      setTimeout(() => {
        if (this.closed) return;
        this.watchEvents()
          .then(() => this.relistAll())
          .catch(() => restart());
      }, 1000).unref();
    };
    stream.on("end", restart);
    stream.on("error", restart);
  }

  /** After the event stream broke (dockerd restart): tell the kubelet to look at every pod again. */
  private async relistAll(): Promise<void> {
    for (const c of await this.listContainers()) this.fire(c.id, c.pod);
  }

  private fire(id: string, pod: PodRef): void {
    for (const cb of this.exitCbs) cb({ id, pod });
  }

  private podOf(labels: Record<string, string>): PodRef {
    return { uid: labels[Label.podUid] ?? "", namespace: labels[Label.podNamespace] ?? "", name: labels[Label.podName] ?? "" };
  }

  async listSandboxes(): Promise<SandboxInfo[]> {
    const list = await this.listRole("sandbox");
    const out: SandboxInfo[] = [];
    for (const c of list) {
      if (c.State === "exited" || c.State === "dead") {
        // A dead sandbox has no network any more: drop it, the pod gets a new one.
        await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
        continue;
      }
      // One being created or started right now by another pod's sync is not ours to remove.
      if (c.State !== "running") continue;
      // A hostNetwork sandbox has no address of its own: the pod is reached on the node's loopback.
      const ip = c.HostConfig?.NetworkMode === "host" ? "127.0.0.1" : (Object.values(c.NetworkSettings?.Networks ?? {})[0]?.IPAddress ?? "");
      out.push({ pod: this.podOf(c.Labels), id: c.Id, ip, hostPorts: {}, createdAt: rfc3339(c.Created * 1000) });
    }
    return out;
  }

  private view(i: Inspect): EngineContainer {
    const l = i.Config.Labels ?? {};
    const st = i.State;
    const state = stateOf(st.Status);
    const c: EngineContainer = {
      id: i.Id,
      pod: this.podOf(l),
      name: l[Label.container] ?? "",
      attempt: Number(l[Label.attempt] ?? 0),
      init: l[Label.init] === "true",
      state,
      image: i.Config.Image,
      imageID: `docker-pullable://${i.Image}`,
      startedAt: time(st.StartedAt),
    };
    if (state === "exited") {
      c.exitCode = st.ExitCode;
      c.finishedAt = time(st.FinishedAt);
      c.reason = st.OOMKilled ? "OOMKilled" : st.ExitCode === 0 ? "Completed" : "Error";
    }
    return c;
  }

  /** Usage of this node's running containers (docker-stats.ts: one one-shot call each). */
  async stats(): Promise<ContainerUsage[]> {
    return dockerStats(this.docker, await this.listContainers());
  }

  /**
   * Every container of this node. The list call says each container's state; a container is
   * inspected (for exit code and times) only when that state differs from what was cached, so a
   * sync costs one list call, not one inspect per container of the node.
   */
  async listContainers(): Promise<EngineContainer[]> {
    const list = await this.listRole("container");
    const live = new Set(list.map((c) => c.Id));
    for (const id of this.views.keys()) if (!live.has(id)) this.views.delete(id);
    const views = await Promise.all(
      list.map(async (c) => {
        const cached = this.views.get(c.Id);
        if (cached && cached.state === stateOf(c.State)) return cached;
        const i = await this.docker.getContainer(c.Id).inspect().catch(() => undefined);
        if (!i) return undefined;
        const v = this.view(i);
        this.views.set(c.Id, v);
        return v;
      }),
    );
    return views.filter((v): v is EngineContainer => !!v);
  }

  private labels(pod: PodRef, role: "sandbox" | "container", extra: Record<string, string> = {}): Record<string, string> {
    return {
      [Label.cluster]: this.o.cluster,
      [Label.node]: this.o.nodeName,
      [Label.podUid]: pod.uid,
      [Label.podName]: pod.name,
      [Label.podNamespace]: pod.namespace,
      [Label.role]: role,
      ...extra,
    };
  }

  private baseName(pod: PodRef): string {
    return sanitize(`flotilla_${this.o.cluster}_${this.o.nodeName}_${pod.namespace}_${pod.name}`);
  }

  async ensureSandbox(pod: PodRef, opts: Pick<SandboxOptions, "hostname"> & Partial<SandboxOptions>): Promise<SandboxInfo> {
    const existing = (await this.listSandboxes()).find((s) => s.pod.uid === pod.uid);
    if (existing) return existing;
    const podNetwork = this.o.network && !opts.hostNetwork ? this.o.network.need() : undefined;
    const i = await this.starts.run(async () => {
      const c = await this.docker.createContainer({
        name: `${this.baseName(pod)}_POD_${pod.uid.slice(0, 8)}_${Date.now().toString(36)}`,
        Image: this.sandboxImage,
        Cmd: ["sleep", "2147483647"],
        // hostNetwork: the sandbox (and so every container of the pod) shares the node's network and hostname.
        Hostname: opts.hostNetwork ? undefined : opts.hostname.slice(0, 63),
        Labels: this.labels(pod, "sandbox", { [Label.container]: "POD" }),
        HostConfig: { Init: true, IpcMode: "shareable", NetworkMode: opts.hostNetwork ? "host" : (podNetwork ?? "bridge") },
      });
      await c.start().catch(ignore(304));
      return c.inspect();
    });
    // The pod's containers share the sandbox's resolv.conf (NetworkMode container:<sandbox>), so
    // rewriting that one file gives them all the pod's DNS settings, as the kubelet's dockershim did.
    if (podNetwork && opts.resolvConf !== undefined && i.ResolvConfPath) await writeFile(i.ResolvConfPath, opts.resolvConf);
    const ip = opts.hostNetwork
      ? "127.0.0.1"
      : (podNetwork ? i.NetworkSettings.Networks?.[podNetwork]?.IPAddress : undefined) || (i.NetworkSettings as { IPAddress?: string }).IPAddress || (Object.values(i.NetworkSettings.Networks ?? {})[0]?.IPAddress ?? "");
    if (!this.o.network && !opts.hostNetwork) this.nodeAddressForPods ??= bridgeGatewayOf(i.NetworkSettings as Parameters<typeof bridgeGatewayOf>[0]);
    return { pod, id: i.Id, ip, hostPorts: {}, createdAt: rfc3339(Date.now()) };
  }

  async ensureImage(image: string, policy: ContainerConfig["imagePullPolicy"]): Promise<{ imageID: string; pulled: boolean }> {
    const local = await this.docker.getImage(image).inspect().catch(() => undefined);
    if (local && policy !== "Always") return { imageID: local.Id, pulled: false };
    if (!local && policy === "Never") throw new ImageError("ErrImageNeverPull", `Container image "${image}" is not present with pull policy of Never`);
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
      const img = await this.docker.getImage(image).inspect();
      return { imageID: img.Id, pulled: true };
    } catch (e) {
      // No registry reachable: with pull policy Always, an image already on the machine is used (docs/kubelet.md).
      if (local) return { imageID: local.Id, pulled: false };
      const msg = ((e as { json?: { message?: string } }).json?.message ?? (e as Error).message).trim();
      throw new ImageError("ErrImagePull", msg);
    }
  }

  async startContainer(sandbox: SandboxInfo, cfg: ContainerConfig, _imageID: string): Promise<EngineContainer> {
    const c = await this.starts.run(() => this.createAndStart(sandbox, cfg));
    // Cached like listContainers' views: the next sync's listing need not inspect it again.
    const v = this.view(await c.inspect());
    this.views.set(v.id, v);
    return v;
  }

  private async createAndStart(sandbox: SandboxInfo, cfg: ContainerConfig): Promise<Docker.Container> {
    let c: Docker.Container;
    try {
      c = await this.docker.createContainer({
        name: `${this.baseName(sandbox.pod)}_${sanitize(cfg.name)}_${cfg.attempt}_${sandbox.pod.uid.slice(0, 8)}_${Date.now().toString(36)}`,
        Image: cfg.image,
        Entrypoint: cfg.command?.length ? cfg.command : undefined,
        Cmd: cfg.args?.length ? cfg.args : cfg.command?.length ? [] : undefined,
        Env: Object.entries(cfg.env).map(([k, v]) => `${k}=${v}`),
        WorkingDir: cfg.workingDir,
        OpenStdin: !!cfg.stdin,
        StdinOnce: false,
        Tty: !!cfg.tty,
        Labels: this.labels(sandbox.pod, "container", { [Label.container]: cfg.name, [Label.attempt]: String(cfg.attempt), [Label.init]: String(cfg.init) }),
        HostConfig: {
          Init: true,
          NetworkMode: `container:${sandbox.id}`,
          IpcMode: `container:${sandbox.id}`,
          Mounts: (cfg.mounts ?? []).map((m) => ({ Type: "bind" as const, Source: m.source, Target: m.target, ReadOnly: m.readOnly })),
          NanoCpus: cfg.cpuMillis ? cfg.cpuMillis * 1_000_000 : undefined,
          Memory: cfg.memoryBytes || undefined,
        },
      });
    } catch (e) {
      throw new StartError(((e as { json?: { message?: string } }).json?.message ?? (e as Error).message).trim());
    }
    c.wait({ condition: "next-exit" }).catch(() => undefined);
    try {
      await c.start();
    } catch (e) {
      if (statusCode(e) !== 304) {
        await c.remove({ force: true }).catch(() => undefined);
        throw new StartError(((e as { json?: { message?: string } }).json?.message ?? (e as Error).message).trim());
      }
    }
    return c;
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    await this.docker.getContainer(id).stop({ t: Math.max(0, Math.round(graceSeconds)) }).catch(ignore(304, 404));
  }

  async removeContainer(id: string): Promise<void> {
    this.views.delete(id);
    await this.docker.getContainer(id).remove({ force: true }).catch(ignore(404, 409));
  }

  async removeSandbox(id: string): Promise<void> {
    await this.docker.getContainer(id).remove({ force: true }).catch(ignore(404, 409));
  }

  async exec(containerId: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    const ex = await this.docker.getContainer(containerId).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    let output = "";
    out.on("data", (d) => (output += d));
    this.docker.modem.demuxStream(stream, out, out);
    const ended = new Promise<void>((r) => stream.on("end", () => r()));
    const timedOut = await Promise.race([ended.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
    if (timedOut) {
      stream.destroy();
      return { exitCode: 124, output: `command timed out after ${timeoutMs} ms` };
    }
    const info = await ex.inspect();
    return { exitCode: info.ExitCode ?? 1, output };
  }

  execSession(containerId: string, command: string[], o: SessionOptions): Promise<StreamSession> {
    return dockerExecSession(this.docker, containerId, command, o);
  }

  attachSession(containerId: string, o: SessionOptions): Promise<StreamSession> {
    return dockerAttachSession(this.docker, containerId, o);
  }

  /** Pods have their own address on the bridge: the node reaches the port there. */
  podPortAddress(sandbox: SandboxInfo, port: number): { host: string; port: number } {
    return { host: sandbox.ip, port };
  }

  async logs(containerId: string, opts: LogOptions): Promise<LogStream> {
    const c = this.docker.getContainer(containerId);
    const base = { stdout: true, stderr: true, timestamps: !!opts.timestamps, since: opts.sinceSeconds ? Math.floor(Date.now() / 1000) - opts.sinceSeconds : 0 };
    const tail = opts.tailLines !== undefined && opts.tailLines >= 0 ? opts.tailLines : "all";
    if (!opts.follow) {
      const buf = (await c.logs({ ...base, follow: false, tail: tail as number })) as unknown as Buffer;
      const text = tailText(demuxBuffer(buf), opts.tailLines);
      return { chunks: (async function* () { if (text) yield text; })(), cancel() {} };
    }
    const stream = (await c.logs({ ...base, follow: true, tail: tail as number })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const out = new PassThrough({ encoding: "utf8" });
    this.docker.modem.demuxStream(stream, out, out);
    stream.on("end", () => out.end());
    stream.on("error", () => out.end());
    return {
      chunks: (async function* () {
        for await (const chunk of out) yield String(chunk);
      })(),
      cancel() {
        stream.destroy();
        out.end();
      },
    };
  }

  onExit(cb: (c: { id: string; pod: PodRef }) => void): void {
    this.exitCbs.push(cb);
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.events as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    this.events = undefined;
    s?.destroy?.();
  }
}
