/**
 * The per-node pod worker: one work-queue key per pod. Each run re-reads the pod (informer cache)
 * and the engine's containers, asks `decideSync` what to do, does it, and writes the status that
 * `computeStatus` derives — through the status subresource with CAS. Used by the kubelet actor
 * (one node) and by the simulated node pool (many nodes sharing one informer).
 */
import type { Pod } from "../../bus/resources.ts";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Engine, EngineContainer, SandboxInfo, PodRef } from "./engines/types.ts";
import type { SyncAction, SyncEvent, WaitingError, ProbeResults } from "./pod-sync.ts";
import type { BackoffConfig } from "./backoff.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { isCode, ErrorCode } from "../../bus/errors.ts";
import { ImageError, StartError } from "./engines/types.ts";
import { ConfigError } from "./env.ts";
import { fencedPod } from "./fence.ts";
import { decideSync, gracePeriodSeconds as gracePeriodSecondsOf, isTerminalPhase } from "./pod-sync.ts";
import { computeStatus } from "./pod-status.ts";
import { containerConfig } from "./container-config.ts";
import { ProbeWorker } from "./probes.ts";
import { EventRecorder } from "../../runtime/events.ts";
import { POD_PORTS_ANNOTATION } from "../../bus/service-links.ts";
import type { DnsSettings } from "./resolv-conf.ts";
import { formatResolvConf, podResolvConf } from "./resolv-conf.ts";
import type { VolumeManager } from "./volumes/manager.ts";
import type { LifecycleHandler } from "../../bus/resources.ts";
import { runHook } from "./hooks.ts";
import { terminationMount, terminationMessage } from "./termination-message.ts";
import { isStaticPod } from "./static-pods.ts";
import { runAsRequest, nonRootViolation, podFsUser } from "./security-context.ts";


export interface AgentOptions {
  nodeName: string;
  hostIP: string;
  engine: Engine;
  store: StoreClient;
  log: Logger;
  backoff: BackoffConfig;
  getPod(namespace: string, name: string): Pod | undefined;
  now?: () => number;
  concurrency?: number;
  /** The cluster DNS and the host's resolvers: each pod's resolv.conf, for engines that give pods their own. */
  dns?: DnsSettings;
  /** Makes pods' volumes (absent for engines without a filesystem: simulated). */
  volumes?: VolumeManager;
  /**
   * The stored pod a pod's status is written to: a static pod's mirror pod, or undefined while it
   * has none (static-pods.ts). Default: the pod itself.
   */
  statusObject?(pod: Pod): Pod | undefined;
  /** This node's static pods: they run without the API and are not stopped by self-fencing. */
  staticPod?(namespace: string, name: string): Pod | undefined;
  /** False until the API's pods are listed: other keys wait, so that no running container looks orphaned. */
  apiPodsKnown?(): boolean;
  /** Told which ConfigMaps and Secrets a pod's volumes read (to re-sync it when they change). */
  trackVolumeSources?(podKey: string, pod: Pod | undefined): void;
}

const keyOf = (ns: string | undefined, name: string | undefined) => `${ns ?? "default"}/${name}`;

/** How soon, and for how long after the report, a sync looks again at an exit the engine has not listed yet. */
const EXIT_RECHECK_MS = 100;
const EXIT_RECHECK_FOR_MS = 10_000;
/** How soon a sync that found the stored pod ended by someone else runs again (the informer catches up meanwhile). */
const STALE_CACHE_RETRY_MS = 100;

export class NodeAgent {
  readonly queue: WorkQueue;
  private readonly waiting = new Map<string, Record<string, WaitingError>>(); // pod uid → container → error
  /** Container id → its termination message (read once, when it has exited). */
  private readonly messages = new Map<string, string>();
  private readonly probes = new Map<string, ProbeWorker>(); // container id → worker
  private readonly emitted = new Map<string, Set<string>>(); // pod uid → event keys
  private readonly lastSeen = new Map<string, Pod>();
  private readonly now: () => number;
  private readonly events: EventRecorder;
  private fenced = false;
  // Container id → when the engine reported its exit. Docker can send `die` before its container
  // list shows the container exited; a sync that still sees it running looks again shortly.
  private readonly reportedExits = new Map<string, number>();

  constructor(private readonly o: AgentOptions) {
    this.now = o.now ?? Date.now;
    // As many writers as pod workers: a pod's Events should not wait behind another pod's.
    this.events = new EventRecorder({ store: o.store, source: { component: "kubelet", host: o.nodeName }, now: this.now, log: o.log, concurrency: o.concurrency ?? 16 });
    this.queue = new WorkQueue((k) => this.sync(k), { concurrency: o.concurrency ?? 16, baseDelayMs: 200, maxDelayMs: 10_000, log: o.log });
    o.engine.onExit((c) => {
      this.reportedExits.set(c.id, this.now());
      this.queue.add(keyOf(c.pod.namespace, c.pod.name));
    });
  }

  enqueue(pod: Pod): void {
    this.queue.add(keyOf(pod.metadata.namespace, pod.metadata.name));
  }

  /** Queues every pod the engine still runs (so pods deleted while we were away get cleaned up). */
  async resyncEngine(): Promise<void> {
    const [cs, ss] = await Promise.all([this.o.engine.listContainers(), this.o.engine.listSandboxes()]);
    for (const r of [...cs.map((c) => c.pod), ...ss.map((s) => s.pod)]) this.queue.add(keyOf(r.namespace, r.name));
  }

  setFenced(fenced: boolean): void {
    this.fenced = fenced;
  }

  /** Stops and removes every container and sandbox of this node (static pods stay unless `withStatic`). */
  async stopEverything(withStatic = true): Promise<void> {
    await this.stopWhere((r) => withStatic || !this.isStaticPod(r));
  }

  /** Self-fencing: stops and removes the containers and sandboxes of the pods that must never run twice (fence.ts). */
  async fence(): Promise<void> {
    await this.stopWhere((r) => !this.isStaticPod(r) && fencedPod(this.knownPod(r.namespace, r.name, r.uid)));
  }

  private isStaticPod(r: PodRef): boolean {
    return this.o.staticPod?.(r.namespace, r.name)?.metadata.uid === r.uid;
  }

  /** The pod object with this uid as this kubelet last had it (its sync's, else the cache's). */
  private knownPod(ns: string, name: string, uid?: string): Pod | undefined {
    const key = keyOf(ns, name);
    return [this.lastSeen.get(key), this.o.getPod(ns, name)].find((p) => p && (uid === undefined || p.metadata.uid === uid));
  }

  private async stopWhere(gone: (r: PodRef) => boolean): Promise<void> {
    const [allCs, allSs] = await Promise.all([this.o.engine.listContainers(), this.o.engine.listSandboxes()]);
    const cs = allCs.filter((c) => gone(c.pod));
    const ss = allSs.filter((s) => gone(s.pod));
    const kept = new Set(allCs.filter((c) => !gone(c.pod)).map((c) => c.id));
    for (const [id, w] of this.probes) {
      if (kept.has(id)) continue;
      w.stop();
      this.probes.delete(id);
    }
    await Promise.all(cs.filter((c) => c.state !== "exited").map((c) => this.o.engine.stopContainer(c.id, 0).catch(() => undefined)));
    for (const c of cs) await this.o.engine.removeContainer(c.id).catch(() => undefined);
    for (const s of ss) await this.o.engine.removeSandbox(s.id).catch(() => undefined);
    for (const s of ss) await this.o.volumes?.tearDown(s.pod.uid).catch(() => undefined);
    this.waiting.clear();
  }

  async stop(): Promise<void> {
    await this.queue.shutdown();
    for (const w of this.probes.values()) w.stop();
    this.probes.clear();
  }

  private async sync(key: string): Promise<void> {
    const [ns, name] = key.split("/") as [string, string];
    const isStatic = this.o.staticPod?.(ns, name) !== undefined;
    // Fenced: the pods that must never run twice wait for the lease; the others go on being run.
    if (this.fenced && !isStatic && fencedPod(this.knownPod(ns, name))) return;
    if (!isStatic && this.o.apiPodsKnown && !this.o.apiPodsKnown()) {
      this.queue.addAfter(key, 500);
      return;
    }
    const cached = this.o.getPod(ns, name);
    const pod = cached && cached.spec.nodeName === this.o.nodeName ? cached : undefined;
    const [allContainers, allSandboxes] = await Promise.all([this.o.engine.listContainers(), this.o.engine.listSandboxes()]);
    const mine = (r: PodRef) => r.namespace === ns && r.name === name;
    // Containers of this name that belong to another (older) pod object, or to no pod at all.
    const stale = allContainers.filter((c) => mine(c.pod) && c.pod.uid !== pod?.metadata.uid);
    const staleSandboxes = allSandboxes.filter((s) => mine(s.pod) && s.pod.uid !== pod?.metadata.uid);
    if (stale.length || staleSandboxes.length) {
      const grace = this.lastSeen.get(key)?.spec.terminationGracePeriodSeconds ?? 0;
      await Promise.all(stale.filter((c) => c.state !== "exited").map((c) => this.kill(c, grace)));
      for (const c of stale) await this.o.engine.removeContainer(c.id);
      for (const s of staleSandboxes) await this.o.engine.removeSandbox(s.id);
      for (const s of staleSandboxes) this.forget(s.pod.uid);
      for (const s of staleSandboxes) await this.o.volumes?.tearDown(s.pod.uid);
    }
    this.o.trackVolumeSources?.(key, pod && !pod.metadata.deletionTimestamp ? pod : undefined);
    if (!pod) {
      this.lastSeen.delete(key);
      return;
    }
    this.lastSeen.set(key, pod);
    const uid = pod.metadata.uid!;
    let containers = allContainers.filter((c) => c.pod.uid === uid);
    let sandbox = allSandboxes.find((s) => s.pod.uid === uid);
    const input = () => ({ pod, sandbox, containers, probes: this.probeResults(containers), waiting: this.waiting.get(uid) ?? {}, now: this.now(), backoff: this.o.backoff });
    const plan = decideSync(input());
    for (const e of plan.events) this.event(pod, e);
    const finalize = await this.execute(pod, plan.actions, containers, (s) => (sandbox = s));
    if (finalize) return;
    if (sandbox && !plan.actions.some((a) => a.type === "start")) await this.refreshVolumes(pod, sandbox);
    if (sandbox && !plan.actions.some((a) => a.type === "createSandbox")) await this.publishPorts(pod, sandbox);
    if (plan.actions.length > 0) containers = (await this.o.engine.listContainers()).filter((c) => c.pod.uid === uid);
    this.reconcileProbes(pod, containers, sandbox);
    await this.readTerminationMessages(pod, containers);
    await this.writeStatus(pod, computeStatus(input(), { hostIP: this.o.hostIP, engineName: this.o.engine.name, messages: this.messages }));
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs);
    if (this.exitNotListedYet(containers)) this.queue.addAfter(key, EXIT_RECHECK_MS);
  }

  /** Reads the termination message of each container that exited since the last look (once per container). */
  private async readTerminationMessages(pod: Pod, containers: EngineContainer[]): Promise<void> {
    if (this.o.engine.name === "simulated") return;
    const podDir = this.o.volumes?.podDir(pod.metadata.uid!);
    for (const c of containers) {
      if (c.state !== "exited" || this.messages.has(c.id)) continue;
      const spec = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((s) => s.name === c.name);
      const msg = await terminationMessage(this.o.engine, podDir, spec, c).catch((e) => {
        this.o.log.debug("termination message unreadable", { container: c.id, error: (e as Error).message });
        return "";
      });
      this.messages.set(c.id, msg);
    }
    // Forget containers that are gone (removed attempts, deleted pods).
    if (this.messages.size > 4 * Math.max(64, containers.length)) {
      const live = new Set((await this.o.engine.listContainers()).map((c) => c.id));
      for (const id of this.messages.keys()) if (!live.has(id)) this.messages.delete(id);
    }
  }

  /** Whether a container whose exit the engine reported is still listed as running. */
  private exitNotListedYet(containers: EngineContainer[]): boolean {
    const now = this.now();
    for (const [id, at] of this.reportedExits) if (now - at > EXIT_RECHECK_FOR_MS) this.reportedExits.delete(id);
    let pending = false;
    for (const c of containers) {
      if (!this.reportedExits.has(c.id)) continue;
      if (c.state === "exited") this.reportedExits.delete(c.id);
      else pending = true;
    }
    return pending;
  }

  private probeResults(containers: EngineContainer[]): Record<string, ProbeResults> {
    const out: Record<string, ProbeResults> = {};
    for (const c of containers) {
      const w = this.probes.get(c.id);
      if (w) out[c.id] = w.results();
    }
    return out;
  }

  /** Runs the plan. Returns true when the pod object was finalized. */
  private async execute(pod: Pod, actions: SyncAction[], containers: EngineContainer[], setSandbox: (s: SandboxInfo) => void): Promise<boolean> {
    const byId = new Map(containers.map((c) => [c.id, c]));
    const kills = actions.filter((a) => a.type === "kill");
    await Promise.all(kills.map((a) => {
      const c = byId.get(a.id)!;
      const why = a.reason === "Unhealthy" ? `Container ${a.container} failed ${a.probe ?? "liveness"} probe, will be restarted` : `Stopping container ${a.container}`;
      this.event(pod, { type: "Normal", reason: "Killing", message: why, key: `Killing:${a.id}` });
      return this.kill(c, a.graceSeconds, pod);
    }));
    let sandbox: SandboxInfo | undefined;
    const starts: Promise<void>[] = [];
    for (const a of actions) {
      if (a.type === "removeContainer") await this.o.engine.removeContainer(a.id);
      else if (a.type === "removeSandbox") {
        await this.o.engine.removeSandbox(a.id);
        await this.o.volumes?.tearDown(pod.metadata.uid!);
      } else if (a.type === "createSandbox") {
        sandbox = await this.createSandbox(pod);
        setSandbox(sandbox);
      } else if (a.type === "start") {
        sandbox ??= (await this.o.engine.listSandboxes()).find((s) => s.pod.uid === pod.metadata.uid) ?? (await this.createSandbox(pod));
        starts.push(this.start(pod, sandbox, a.container, a.init, a.attempt));
      } else if (a.type === "finalize") {
        this.forget(pod.metadata.uid!);
        await this.o.volumes?.tearDown(pod.metadata.uid!);
        try {
          await this.o.store.delete("pods", pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
        } catch (e) {
          if (!isCode(e, ErrorCode.NotFound) && !isCode(e, ErrorCode.Conflict)) throw e;
        }
        return true;
      }
    }
    await Promise.all(starts);
    return false;
  }

  private async kill(c: EngineContainer, graceSeconds: number, pod?: Pod): Promise<void> {
    this.probes.get(c.id)?.stop();
    this.probes.delete(c.id);
    const preStop = pod && c.state === "running" ? pod.spec.containers.find((s) => s.name === c.name)?.lifecycle?.preStop : undefined;
    let grace = graceSeconds;
    if (preStop && pod && grace > 0) {
      const started = this.now();
      const r = await this.hook(pod, c.id, preStop, grace);
      if (!r.ok) this.event(pod, { type: "Warning", reason: "FailedPreStopHook", message: `PreStopHook failed: ${r.message}`, key: `FailedPreStopHook:${c.id}` });
      // What the hook used comes off the grace period, with a last 2 s for the signal (as the kubelet does).
      grace = Math.max(2, grace - Math.ceil((this.now() - started) / 1000));
    }
    await this.o.engine.stopContainer(c.id, grace);
  }

  /** Runs a lifecycle hook against the container (httpGet dials the pod as probes do). */
  private async hook(pod: Pod, containerId: string, h: LifecycleHandler, timeoutSeconds: number): Promise<{ ok: boolean; message: string }> {
    const sandbox = (await this.o.engine.listSandboxes()).find((s) => s.pod.uid === pod.metadata.uid);
    const ports = pod.spec.containers.flatMap((x) => x.ports ?? []);
    const resolvePort = (p: number | string) => {
      const cp = typeof p === "number" ? p : (ports.find((x) => x.name === p)?.containerPort ?? Number(p));
      return sandbox?.hostPorts[String(cp)] ?? cp;
    };
    return runHook(h, { engine: this.o.engine, containerId, host: sandbox?.ip ?? "127.0.0.1", resolvePort }, timeoutSeconds);
  }

  private forget(uid: string): void {
    this.waiting.delete(uid);
    this.emitted.delete(uid);
  }

  private async createSandbox(pod: Pod): Promise<SandboxInfo> {
    const ref = { uid: pod.metadata.uid!, namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name! };
    const ports = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].flatMap((c) => c.ports ?? []);
    const resolvConf = this.o.dns ? formatResolvConf(podResolvConf(pod, this.o.dns)) : undefined;
    const s = await this.o.engine.ensureSandbox(ref, { hostname: pod.spec.hostname ?? pod.metadata.name!, ports, resolvConf, hostNetwork: pod.spec.hostNetwork === true });
    await this.publishPorts(pod, s);
    return s;
  }

  /**
   * The host ports of the pod's sandbox, on the pod (what the endpoints controller serves). Every
   * sync checks them, not only the sandbox's creation: a patch that failed while the store was
   * away would otherwise leave a new sandbox's ports unknown, and the Service sending to old ones.
   */
  private async publishPorts(pod: Pod, s: SandboxInfo): Promise<void> {
    if (Object.keys(s.hostPorts).length === 0 || isStaticPod(pod)) return;
    const value = JSON.stringify(s.hostPorts);
    if (pod.metadata.annotations?.[POD_PORTS_ANNOTATION] === value) return;
    await this.o.store.patch("pods", pod.metadata.namespace ?? "default", pod.metadata.name!, "merge", { metadata: { annotations: { [POD_PORTS_ANNOTATION]: value } } });
  }

  private setWaiting(uid: string, container: string, reason: string, message: string): void {
    const w = this.waiting.get(uid) ?? {};
    const prev = w[container];
    w[container] = { reason, message, failures: prev && prev.reason === reason ? prev.failures + 1 : 1, lastAt: this.now() };
    this.waiting.set(uid, w);
  }

  private async start(pod: Pod, sandbox: SandboxInfo, name: string, init: boolean, attempt: number): Promise<void> {
    const uid = pod.metadata.uid!;
    const spec = (init ? pod.spec.initContainers ?? [] : pod.spec.containers).find((c) => c.name === name)!;
    const fail = (reason: string, message: string) => {
      this.setWaiting(uid, name, reason, message);
      // A volume not ready yet (VolumeNotReady) is Kubernetes' FailedMount, and the pod stays ContainerCreating.
      const eventReason = reason === "ContainerCreating" ? "FailedMount" : "Failed";
      this.event(pod, { type: "Warning", reason: eventReason, message: reason === "CreateContainerConfigError" ? `Error: ${message}` : message, key: `${eventReason}:${name}:${reason}:${this.waiting.get(uid)![name]!.failures}` });
    };
    let cfg;
    try {
      const ctx = { podIP: sandbox.ip, hostIP: this.o.hostIP, nodeName: this.o.nodeName };
      cfg = await containerConfig(this.o.store, pod, spec, init, attempt, {
        ...ctx,
        // A static pod may start before the API exists: it gets the Services known by then (none).
        serviceLinks: this.o.engine.name !== "simulated" && (!isStaticPod(pod) || (this.o.apiPodsKnown?.() ?? true)),
        bridgeAddress: this.o.engine.nodeAddressForPods,
      });
      const req = runAsRequest(pod, spec);
      const user = this.o.engine.runAs?.(req);
      if (user) cfg.user = user;
      const refused = nonRootViolation(pod, spec, req, user?.uid);
      if (refused) throw new ConfigError(refused);
      if (this.o.volumes && (pod.spec.volumes?.length || spec.volumeMounts?.length)) {
        cfg.mounts = this.o.volumes.mountsFor(pod, spec, await this.o.volumes.setUp(pod, ctx, this.volumeOwner(pod)));
      }
      const tm = this.o.volumes && terminationMount(this.o.engine.name, this.o.volumes.podDir(uid), spec, attempt);
      if (tm) cfg.mounts = [...(cfg.mounts ?? []), tm];
    } catch (e) {
      if (e instanceof ConfigError) return fail(e.reason, e.message);
      throw e;
    }
    let imageID: string;
    try {
      const img = await this.o.engine.ensureImage(cfg.image, cfg.imagePullPolicy);
      imageID = img.imageID;
      if (this.o.engine.name !== "simulated") {
        const msg = img.pulled ? `Successfully pulled image "${cfg.image}"` : `Container image "${cfg.image}" already present on machine`;
        this.event(pod, { type: "Normal", reason: "Pulled", message: msg, key: `Pulled:${name}:${attempt}` });
      }
    } catch (e) {
      if (e instanceof ImageError) return fail(e.reason, `Failed to pull image "${cfg.image}": ${e.message}`);
      throw e;
    }
    try {
      const c = await this.o.engine.startContainer(sandbox, cfg, imageID);
      this.waiting.get(uid) && delete this.waiting.get(uid)![name];
      this.event(pod, { type: "Normal", reason: "Created", message: `Created container ${name}`, key: `Created:${c.id}` });
      this.event(pod, { type: "Normal", reason: "Started", message: `Started container ${name}`, key: `Started:${c.id}` });
      if (spec.lifecycle?.postStart) {
        const r = await this.hook(pod, c.id, spec.lifecycle.postStart, gracePeriodSecondsOf(pod));
        if (!r.ok) {
          this.event(pod, { type: "Warning", reason: "FailedPostStartHook", message: `PostStartHook failed: ${r.message}`, key: `FailedPostStartHook:${c.id}` });
          await this.o.engine.stopContainer(c.id, gracePeriodSecondsOf(pod));
        }
      }
    } catch (e) {
      if (e instanceof StartError) return fail("RunContainerError", e.message);
      throw e;
    }
  }

  /** Who owns the pod's volume files: its fsGroup, and the one user all its containers run as (engines that choose users). */
  private volumeOwner(pod: Pod): { fsUser?: number; fsGroup?: number } {
    const runAs = this.o.engine.runAs?.bind(this.o.engine);
    const fsGroup = runAsRequest(pod, pod.spec.containers[0] ?? { name: "" }).fsGroup;
    const fsUser = runAs ? podFsUser([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => runAs(runAsRequest(pod, c)))) : undefined;
    return { ...(fsUser !== undefined ? { fsUser } : {}), ...(fsGroup !== undefined ? { fsGroup } : {}) };
  }

  /** configMap / secret / downwardAPI volumes of a running pod follow their sources (failures wait for the next sync). */
  private async refreshVolumes(pod: Pod, sandbox: SandboxInfo): Promise<void> {
    if (!this.o.volumes || !pod.spec.volumes?.length) return;
    try {
      await this.o.volumes.setUp(pod, { podIP: sandbox.ip, hostIP: this.o.hostIP, nodeName: this.o.nodeName }, this.volumeOwner(pod));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.o.log.debug("volume refresh failed", { pod: pod.metadata.name, error: e.message });
    }
  }

  private reconcileProbes(pod: Pod, containers: EngineContainer[], sandbox: SandboxInfo | undefined): void {
    const key = keyOf(pod.metadata.namespace, pod.metadata.name);
    const runningIds = new Set<string>();
    for (const c of containers) {
      if (c.state !== "running" || c.init) continue;
      runningIds.add(c.id);
      const spec = pod.spec.containers.find((s) => s.name === c.name);
      if (!spec || this.probes.has(c.id) || !(spec.livenessProbe || spec.readinessProbe || spec.startupProbe)) continue;
      const ports = pod.spec.containers.flatMap((x) => x.ports ?? []);
      const resolvePort = (p: number | string) => {
        const cp = typeof p === "number" ? p : (ports.find((x) => x.name === p)?.containerPort ?? Number(p));
        return sandbox?.hostPorts[String(cp)] ?? cp;
      };
      const w = new ProbeWorker(
        spec,
        { engine: this.o.engine, containerId: c.id, host: sandbox?.ip ?? "127.0.0.1", resolvePort },
        () => this.queue.add(key),
        (kind, message) => {
          const label = kind === "liveness" ? "Liveness" : kind === "readiness" ? "Readiness" : "Startup";
          this.event(pod, { type: "Warning", reason: "Unhealthy", message: `${label} probe failed: ${message}`, key: `Unhealthy:${c.id}:${kind}:${Math.floor(this.now() / 30_000)}` });
        },
      );
      this.probes.set(c.id, w);
    }
    for (const c of containers) {
      if (!runningIds.has(c.id) && this.probes.has(c.id)) {
        this.probes.get(c.id)!.stop();
        this.probes.delete(c.id);
      }
    }
  }

  private async writeStatus(pod: Pod, status: NonNullable<Pod["status"]>): Promise<void> {
    const target = this.o.statusObject ? this.o.statusObject(pod) : pod;
    if (!target) return;
    let current = target;
    for (let i = 0; i < 5; i++) {
      if (JSON.stringify(current.status ?? {}) === JSON.stringify(status)) return;
      try {
        await this.o.store.updateStatus("pods", { ...current, status });
        return;
      } catch (e) {
        if (isCode(e, ErrorCode.NotFound)) return;
        if (!isCode(e, ErrorCode.Conflict)) throw e;
        current = await this.o.store.get<Pod>("pods", target.metadata.namespace, target.metadata.name!);
        if (current.metadata.uid !== target.metadata.uid) return;
        // Someone else ended the pod (Failed or Succeeded) since the cache was read: a terminal phase
        // never goes back. The next sync starts from the stored pod and stops what still runs.
        if (isTerminalPhase(current) && !isTerminalPhase({ ...current, status })) {
          this.queue.addAfter(keyOf(pod.metadata.namespace, pod.metadata.name), STALE_CACHE_RETRY_MS);
          return;
        }
      }
    }
    throw new Error(`status of ${pod.metadata.namespace}/${pod.metadata.name}: too many conflicts`);
  }

  /** Records a Kubernetes Event once per de-duplication key (best effort, never blocks the sync). */
  event(pod: Pod, e: SyncEvent): void {
    const uid = pod.metadata.uid!;
    const seen = this.emitted.get(uid) ?? new Set<string>();
    if (seen.has(e.key)) return;
    seen.add(e.key);
    this.emitted.set(uid, seen);
    this.events.record(
      { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid, apiVersion: "v1", resourceVersion: pod.metadata.resourceVersion },
      e.type,
      e.reason,
      e.message,
    );
  }
}
