/**
 * The container engine interface the kubelet drives. An engine knows nothing about Kubernetes
 * objects beyond what is passed in: it creates pod sandboxes (the network identity of a pod) and
 * containers inside them, reports what exists (so a restarted kubelet re-adopts its work), stops
 * them gracefully, runs exec probes and reads logs. Types only: no runtime code here.
 */
import type { Readable, Writable } from "node:stream";

export const EngineName = { docker: "docker", process: "process", simulated: "simulated", cri: "cri" } as const;
export type EngineName = (typeof EngineName)[keyof typeof EngineName];

/** Identity of the pod a sandbox or container belongs to (recorded as labels / in pid files). */
export interface PodRef {
  uid: string;
  namespace: string;
  name: string;
}

/** A host path (file or directory) the container sees at `target`. */
export interface HostMount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** What the kubelet asks the engine to run: the container spec with env already resolved. */
export interface ContainerConfig {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env: Record<string, string>;
  ports: { name?: string; containerPort: number; protocol?: string }[];
  /** cpu limit in millicores, memory limit in bytes (0 / undefined = none). */
  cpuMillis?: number;
  memoryBytes?: number;
  /** cpu request in millicores (cpu weight), when given. */
  cpuRequestMillis?: number;
  /** The kernel's OOM-kill preference by the pod's QoS class (oom-score.ts), for engines that set it. */
  oomScoreAdj?: number;
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  /** True for init containers. */
  init: boolean;
  /** Restart count of this container name in the pod: 0 for the first run. */
  attempt: number;
  /** The container's volumeMounts, resolved to host paths by the kubelet's volume manager. */
  mounts?: HostMount[];
  /** Keep stdin open (for attach) and give the container a terminal. */
  stdin?: boolean;
  tty?: boolean;
  /** The identity the container runs as, when the engine chose one (`Engine.runAs`). */
  user?: RunAs;
}

/** A container's numeric identity: user, primary group, supplementary groups. */
export interface RunAs {
  uid: number;
  gid: number;
  groups: number[];
  /** `allowPrivilegeEscalation: false`: the process and its children gain no privileges (no_new_privs). */
  noNewPrivs?: boolean;
}

/** What the pod and container securityContext ask for (container fields win). */
export interface RunAsRequest {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  fsGroup?: number;
  supplementalGroups: number[];
  allowPrivilegeEscalation?: boolean;
}

export interface SandboxOptions {
  hostname: string;
  ports: { name?: string; containerPort: number }[];
  /** The pod's /etc/resolv.conf (dnsPolicy, dnsConfig), for engines that give pods their own. */
  resolvConf?: string;
  /** The pod shares the node's network (no namespace of its own). */
  hostNetwork?: boolean;
}

export interface SandboxInfo {
  pod: PodRef;
  /** Engine id of the sandbox (container id, directory, …). */
  id: string;
  ip: string;
  /** containerPort → host port, when the engine remaps ports (process engine). */
  hostPorts: Record<string, number>;
  createdAt: string;
}

export const ContainerRunState = { created: "created", running: "running", exited: "exited" } as const;
export type ContainerRunState = (typeof ContainerRunState)[keyof typeof ContainerRunState];

/** One container (one attempt of a pod container) as the engine sees it. */
export interface EngineContainer {
  id: string;
  pod: PodRef;
  name: string;
  attempt: number;
  init: boolean;
  state: ContainerRunState;
  image: string;
  imageID: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** "Completed", "Error", "OOMKilled", … for exited containers. */
  reason?: string;
}

/** An image could not be made available: ErrImagePull / ErrImageNeverPull with the engine's message. */
export class ImageError extends Error {
  override name = "ImageError";
  constructor(
    readonly reason: "ErrImagePull" | "ErrImageNeverPull",
    message: string,
  ) {
    super(message);
  }
}

/** The engine refused to create or start a container (bad command, …): RunContainerError. */
export class StartError extends Error {
  override name = "StartError";
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  sinceSeconds?: number;
  limitBytes?: number;
}

export interface LogStream {
  /** Chunks of log text (lines keep their "\n"). Ends when the log ends (not following) or on cancel. */
  chunks: AsyncIterable<string>;
  cancel(): void;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** A process (exec) or a container (attach) with its standard streams, for kubectl exec / attach. */
export interface StreamSession {
  /** Present when stdin was asked for; end() closes the process's stdin. */
  stdin?: Writable;
  stdout: Readable;
  /** Absent with a terminal (stderr goes to stdout). */
  stderr?: Readable;
  resize(width: number, height: number): void;
  /** The exit code once the process (exec) or the container (attach) ends. */
  done: Promise<number>;
  /** Ends the session early (the client went away). */
  kill(): void;
}

export interface SessionOptions {
  stdin: boolean;
  tty: boolean;
}

/** One running container's resource usage, as the engine measures it. */
export interface ContainerUsage {
  id: string;
  pod: PodRef;
  name: string;
  /** Cumulative cpu time in nanoseconds (since the container started). */
  cpuUsageNanos: number;
  /** Working set: memory in use minus inactive page cache. */
  memoryWorkingSetBytes: number;
  /** When measured (ms since the epoch). */
  at: number;
}

export interface Engine {
  readonly name: EngineName;
  /**
   * Where this engine's containers reach the node (and its proxy) — the Docker bridge gateway; none
   * for engines whose pods share the host's network (they use ClusterIPs directly). Known after init().
   */
  readonly nodeAddressForPods?: string;
  /** What the Node reports as containerRuntimeVersion (`containerd://1.6.20`), when the engine knows better than `<name>://<flotilla version>`. Known after init(). */
  readonly runtimeVersion?: string;
  /** Connects, (re)starts event streams. Rejects when the engine cannot be reached. */
  init(): Promise<void>;
  /** Sandboxes of this node and cluster only. */
  listSandboxes(): Promise<SandboxInfo[]>;
  /** Containers of this node and cluster only (every attempt still present). */
  listContainers(): Promise<EngineContainer[]>;
  /** Creates the pod's sandbox (idempotent: returns the existing one). */
  ensureSandbox(pod: PodRef, opts: SandboxOptions): Promise<SandboxInfo>;
  /** Makes the image available per pull policy; returns its id. Throws ImageError. */
  ensureImage(image: string, policy: ContainerConfig["imagePullPolicy"]): Promise<{ imageID: string; pulled: boolean }>;
  /** Creates and starts one container in the sandbox. Throws StartError when the engine refuses. */
  startContainer(sandbox: SandboxInfo, cfg: ContainerConfig, imageID: string): Promise<EngineContainer>;
  /** SIGTERM, wait up to graceSeconds, SIGKILL. Resolves once the container has exited. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** Stops (if needed) and removes the sandbox. */
  removeSandbox(sandboxId: string): Promise<void>;
  exec(containerId: string, command: string[], timeoutMs: number): Promise<ExecResult>;
  /** `kubectl exec`: a command in the container, its streams connected. Throws StartError when it cannot run. */
  execSession?(containerId: string, command: string[], o: SessionOptions): Promise<StreamSession>;
  /** `kubectl attach`: the container's own streams. */
  attachSession?(containerId: string, o: SessionOptions): Promise<StreamSession>;
  /** Where a pod's port is reached from this node (`kubectl port-forward`). */
  podPortAddress?(sandbox: SandboxInfo, port: number): { host: string; port: number };
  logs(containerId: string, opts: LogOptions): Promise<LogStream>;
  /** Usage of every running container of this node (metrics). Engines that cannot measure omit it. */
  stats?(): Promise<ContainerUsage[]>;
  /**
   * The identity a container with this securityContext runs as; undefined when the engine does not
   * choose one (the image's user, or the kubelet's own user on the process engine without root).
   */
  runAs?(req: RunAsRequest): RunAs | undefined;
  /** Called (soon) after any container of this node exits. */
  onExit(cb: (c: { id: string; pod: PodRef }) => void): void;
  close(): Promise<void>;
}
