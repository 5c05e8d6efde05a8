/**
 * The CRI engine: the kubelet speaks CRI v1 over gRPC to a container runtime (containerd's CRI
 * plugin; see cri/containerd-process.ts for a private one). A pod is a CRI pod sandbox (its network
 * namespace comes from the runtime's CNI conf); its containers are created in it. Everything carries
 * the docker engine's labels (cluster, node, pod, container) and every list filters on cluster +
 * node, so kubelets sharing one runtime never touch each other's work, and a restarted kubelet
 * re-adopts what it finds. containerd 1.6 has no GetContainerEvents: exits are found by listing the
 * node's containers every `pollMs`. Logs are read from the CRI log files (cri/log-format.ts).
 */
import type { Engine, EngineContainer, SandboxInfo, ContainerConfig, PodRef, LogStream, ExecResult, LogOptions, ContainerUsage } from "./types.ts";
import type { Logger } from "../../../runtime/logger.ts";
import type * as Cri from "./cri/types.ts";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ImageError, StartError } from "./types.ts";
import { rfc3339 } from "../../../bus/time.ts";
import { tailText, followFile } from "./log-files.ts";
import { CriClient, CriError, isNotFound, nanosToMs } from "./cri/client.ts";
import { CriLogDecoder } from "./cri/log-format.ts";
import { containerUsage } from "./cri/stats.ts";
import { BUSYBOX_IMAGE, importImages } from "./cri/image-archive.ts";
import { Label, IMAGE_ANNOTATION, scopeSelector, podOfLabels, podLogDir, sandboxConfig, containerConfig } from "./cri/config.ts";
import type { NodeScope } from "./cri/config.ts";

export interface CriOptions {
  cluster: string;
  nodeName: string;
  socketPath: string;
  /** Container logs go under it (default: <tmp>/flotilla-cri/<cluster>/<node>/pods). */
  dataDir?: string;
  /** How often the node's containers are listed to notice exits. */
  pollMs?: number;
  log?: Logger;
}

const DEFAULT_POLL_MS = 250;
/** How long after a SIGKILL exit the runtime may still learn that it was an OOM kill (its OOM event can follow the exit). */
export const OOM_SETTLE_MS = 3_000;

/** An exited view that may still change: a SIGKILL (137) not yet known as OOMKilled, within OOM_SETTLE_MS of its end. */
export function mayTurnOomKilled(v: EngineContainer, nowMs: number): boolean {
  return v.state === "exited" && v.exitCode === 137 && v.reason !== "OOMKilled" && nowMs - Date.parse(v.finishedAt ?? "") < OOM_SETTLE_MS;
}

const stateOf = (s: Cri.ContainerState): EngineContainer["state"] => (s === "CONTAINER_CREATED" ? "created" : s === "CONTAINER_EXITED" ? "exited" : "running");
const iso = (ns: string) => {
  const ms = nanosToMs(ns);
  return ms ? rfc3339(ms) : undefined;
};
const ignoreNotFound = (e: unknown) => {
  if (!isNotFound(e)) throw e;
};
const message = (e: unknown) => (e instanceof CriError ? e.message : (e as Error).message).trim();

/** "containerd://1.6.20" from a Version answer (a distribution's suffix such as "~ds1" dropped). */
export function runtimeVersionOf(v: { runtime_name: string; runtime_version: string }): string {
  return `${v.runtime_name}://${v.runtime_version.replace(/^v/, "").replace(/[~+].*$/, "")}`;
}

export class CriEngine implements Engine {
  readonly name = "cri" as const;
  /** `containerd://1.6.20`: what the Node reports as containerRuntimeVersion. Known after init(). */
  runtimeVersion?: string;
  readonly client: CriClient;
  private readonly scope: NodeScope;
  private exitCbs: ((c: { id: string; pod: PodRef }) => void)[] = [];
  /** What each container looked like when last looked at (see listContainers). */
  private readonly views = new Map<string, EngineContainer>();
  /** The last state the exit poll saw per container id. */
  private readonly states = new Map<string, Cri.ContainerState>();
  private readonly ips = new Map<string, string>();
  private poll?: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly o: CriOptions) {
    this.client = new CriClient(o.socketPath);
    this.scope = { cluster: o.cluster, nodeName: o.nodeName, logRoot: join(o.dataDir ?? join(tmpdir(), "flotilla-cri", o.cluster, o.nodeName), "pods") };
  }

  async init(): Promise<void> {
    const v = await this.client.runtime("Version", { version: "v1" }, 10_000);
    this.runtimeVersion = runtimeVersionOf(v);
    const img = await this.client.image("ImageStatus", { image: { image: BUSYBOX_IMAGE } });
    if (!img.image) importImages(this.o.socketPath);
    await this.pollExits(false);
    this.poll = setInterval(() => void this.pollExits(true), this.o.pollMs ?? DEFAULT_POLL_MS);
    this.poll.unref();
  }

  /** Lists the node's containers; a container seen running before and exited now is reported. */
  private async pollExits(report: boolean): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { containers } = await this.client.runtime("ListContainers", { filter: { label_selector: scopeSelector(this.scope) } }, 10_000);
      const live = new Set<string>();
      for (const c of containers) {
        live.add(c.id);
        const prev = this.states.get(c.id);
        this.states.set(c.id, c.state);
        if (report && c.state === "CONTAINER_EXITED" && prev !== "CONTAINER_EXITED") this.fire(c.id, podOfLabels(c.labels));
      }
      for (const id of this.states.keys()) if (!live.has(id)) this.states.delete(id);
    } catch (e) {
      this.o.log?.debug("listing containers for exits failed", { error: message(e) });
    } finally {
      this.polling = false;
    }
  }

  private fire(id: string, pod: PodRef): void {
    for (const cb of this.exitCbs) cb({ id, pod });
  }

  async listSandboxes(): Promise<SandboxInfo[]> {
    const { items } = await this.client.runtime("ListPodSandbox", { filter: { label_selector: { ...scopeSelector(this.scope), [Label.role]: "sandbox" } } });
    const out: SandboxInfo[] = [];
    for (const s of items) {
      if (s.state !== "SANDBOX_READY") {
        // A stopped sandbox has no network any more: drop it, the pod gets a new one.
        await this.removeSandbox(s.id).catch(() => undefined);
        continue;
      }
      out.push({ pod: podOfLabels(s.labels), id: s.id, ip: await this.ipOf(s.id), hostPorts: {}, createdAt: rfc3339(nanosToMs(s.created_at)) });
    }
    return out;
  }

  private async ipOf(id: string): Promise<string> {
    const known = this.ips.get(id);
    if (known !== undefined) return known;
    const { status } = await this.client.runtime("PodSandboxStatus", { pod_sandbox_id: id });
    const ip = status?.network?.ip ?? "";
    this.ips.set(id, ip);
    return ip;
  }

  private view(s: Cri.ContainerStatus): EngineContainer {
    const l = s.labels;
    const state = stateOf(s.state);
    const c: EngineContainer = {
      id: s.id,
      pod: podOfLabels(l),
      name: l[Label.container] ?? s.metadata.name,
      attempt: Number(l[Label.attempt] ?? s.metadata.attempt),
      init: l[Label.init] === "true",
      state,
      image: s.annotations[IMAGE_ANNOTATION] ?? s.image?.image ?? "",
      imageID: s.image_ref,
      startedAt: iso(s.started_at),
    };
    if (state === "exited") {
      c.exitCode = s.exit_code;
      c.finishedAt = iso(s.finished_at);
      c.reason = s.reason || (s.exit_code === 0 ? "Completed" : "Error");
    }
    return c;
  }

  private async status(id: string): Promise<Cri.ContainerStatus | undefined> {
    const { status } = await this.client.runtime("ContainerStatus", { container_id: id }).catch((e) => (isNotFound(e) ? { status: null } : Promise.reject(e)));
    return status ?? undefined;
  }

  /** Every container of this node: one list call, plus a status call only for containers whose state changed. */
  async listContainers(): Promise<EngineContainer[]> {
    const { containers } = await this.client.runtime("ListContainers", { filter: { label_selector: { ...scopeSelector(this.scope), [Label.role]: "container" } } });
    const live = new Set(containers.map((c) => c.id));
    for (const id of this.views.keys()) if (!live.has(id)) this.views.delete(id);
    const views = await Promise.all(
      containers.map(async (c) => {
        const cached = this.views.get(c.id);
        if (cached && cached.state === stateOf(c.state) && !mayTurnOomKilled(cached, Date.now())) return cached;
        const s = await this.status(c.id).catch(() => undefined);
        if (!s) return undefined;
        const v = this.view(s);
        this.views.set(c.id, v);
        // The runtime learnt of an OOM kill after the exit was reported: the pod syncs again.
        if (cached?.state === "exited" && cached.reason !== v.reason) this.fire(c.id, v.pod);
        return v;
      }),
    );
    return views.filter((v): v is EngineContainer => !!v);
  }

  async ensureSandbox(pod: PodRef, opts: { hostname: string }): Promise<SandboxInfo> {
    const existing = (await this.listSandboxes()).find((s) => s.pod.uid === pod.uid);
    if (existing) return existing;
    // A new attempt number each time, so the runtime's name for it never collides with a sandbox being removed.
    const attempt = Math.floor(Date.now() / 1000) % 2 ** 31;
    const { pod_sandbox_id: id } = await this.client.runtime("RunPodSandbox", { config: sandboxConfig(this.scope, pod, { hostname: opts.hostname, attempt }) }, 120_000);
    return { pod, id, ip: await this.ipOf(id), hostPorts: {}, createdAt: rfc3339(Date.now()) };
  }

  async ensureImage(image: string, policy: ContainerConfig["imagePullPolicy"]): Promise<{ imageID: string; pulled: boolean }> {
    const local = (await this.client.image("ImageStatus", { image: { image } }).catch(() => ({ image: null }))).image;
    if (local && policy !== "Always") return { imageID: local.id, pulled: false };
    if (!local && policy === "Never") throw new ImageError("ErrImageNeverPull", `Container image "${image}" is not present with pull policy of Never`);
    try {
      const { image_ref } = await this.client.image("PullImage", { image: { image } }, 300_000);
      return { imageID: image_ref, pulled: true };
    } catch (e) {
      // No registry reachable: with pull policy Always, an image already on the machine is used (docs/kubelet.md).
      if (local) return { imageID: local.id, pulled: false };
      throw new ImageError("ErrImagePull", message(e));
    }
  }

  async startContainer(sandbox: SandboxInfo, cfg: ContainerConfig, imageID: string): Promise<EngineContainer> {
    let id: string;
    try {
      const req = { pod_sandbox_id: sandbox.id, config: containerConfig(this.scope, sandbox.pod, cfg, imageID), sandbox_config: sandboxConfig(this.scope, sandbox.pod) };
      id = (await this.client.runtime("CreateContainer", req, 60_000)).container_id;
    } catch (e) {
      throw new StartError(message(e));
    }
    try {
      await this.client.runtime("StartContainer", { container_id: id }, 60_000);
    } catch (e) {
      await this.client.runtime("RemoveContainer", { container_id: id }).catch(() => undefined);
      throw new StartError(message(e));
    }
    const s = await this.status(id);
    if (!s) throw new StartError(`container ${id} vanished after it started`);
    return this.view(s);
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const timeout = Math.max(0, Math.round(graceSeconds));
    await this.client.runtime("StopContainer", { container_id: id, timeout }, (timeout + 30) * 1000).catch(ignoreNotFound);
  }

  async removeContainer(id: string): Promise<void> {
    this.views.delete(id);
    await this.client.runtime("RemoveContainer", { container_id: id }).catch(ignoreNotFound);
  }

  async removeSandbox(id: string): Promise<void> {
    const { status } = await this.client.runtime("PodSandboxStatus", { pod_sandbox_id: id }).catch((e) => (isNotFound(e) ? { status: null } : Promise.reject(e)));
    await this.client.runtime("StopPodSandbox", { pod_sandbox_id: id }, 60_000).catch(ignoreNotFound);
    await this.client.runtime("RemovePodSandbox", { pod_sandbox_id: id }, 60_000).catch(ignoreNotFound);
    this.ips.delete(id);
    if (status) await rm(podLogDir(this.scope, podOfLabels(status.labels)), { recursive: true, force: true });
  }

  async exec(containerId: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    try {
      const r = await this.client.runtime("ExecSync", { container_id: containerId, cmd: command, timeout: seconds }, timeoutMs + 5_000);
      return { exitCode: r.exit_code, output: Buffer.concat([r.stdout, r.stderr]).toString("utf8") };
    } catch (e) {
      if (e instanceof CriError && (e.code === "DEADLINE_EXCEEDED" || /timeout|deadline/i.test(e.message))) return { exitCode: 124, output: `command timed out after ${timeoutMs} ms` };
      return { exitCode: 126, output: message(e) };
    }
  }

  async logs(containerId: string, opts: LogOptions): Promise<LogStream> {
    const s = await this.status(containerId);
    const file = s?.log_path;
    const size = file ? await stat(file).then((x) => x.size, () => -1) : -1;
    if (!s || !file || size < 0) return { chunks: (async function* () {})(), cancel() {} };
    this.states.set(containerId, s.state);
    const decoder = new CriLogDecoder({ timestamps: opts.timestamps, sinceMs: opts.sinceSeconds ? Date.now() - opts.sinceSeconds * 1000 : undefined });
    const head = (await readFile(file)).subarray(0, size).toString("utf8");
    if (!opts.follow) {
      // An unfinished last line counts as a line here; a follow waits for the rest of it.
      const all = tailText(decoder.push(head) + decoder.flush(), opts.tailLines);
      return { chunks: (async function* () { if (all) yield all; })(), cancel() {} };
    }
    const text = tailText(decoder.push(head), opts.tailLines);
    const done = () => (this.states.get(containerId) ?? "CONTAINER_EXITED") === "CONTAINER_EXITED";
    const f = followFile(file, size, done);
    return {
      chunks: (async function* () {
        if (text) yield text;
        for await (const c of f.chunks) {
          const out = decoder.push(c);
          if (out) yield out;
        }
        const rest = decoder.flush();
        if (rest) yield rest;
      })(),
      cancel: f.cancel,
    };
  }

  /** Usage of the node's running containers, as the runtime samples it (cri/stats.ts). */
  async stats(): Promise<ContainerUsage[]> {
    const { stats } = await this.client.runtime("ListContainerStats", { filter: { label_selector: { ...scopeSelector(this.scope), [Label.role]: "container" } } });
    return containerUsage(stats, Date.now());
  }

  onExit(cb: (c: { id: string; pod: PodRef }) => void): void {
    this.exitCbs.push(cb);
  }

  async close(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    this.client.close();
  }
}
