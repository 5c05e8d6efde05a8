/**
 * How the cri engine names things for the runtime: the labels that keep a container to its
 * cluster, node and pod (the docker engine's label keys), the pod sandbox config (log directory
 * per pod), and the container config (resources as cgroup CPU quota/shares and a memory limit, the
 * volume mounts as bind mounts).
 * Pure functions, no I/O.
 */
import type { ContainerConfig, PodRef } from "../types.ts";
import type * as Cri from "./types.ts";
import { join } from "node:path";
import { Label } from "../docker.ts";

export { Label };

/** The annotation that keeps the image as the pod spec named it (the runtime reports the resolved name). */
export const IMAGE_ANNOTATION = "flotilla.image";
export const CPU_PERIOD_US = 100_000;
const MIN_QUOTA_US = 1000;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

export interface NodeScope {
  cluster: string;
  nodeName: string;
  /** Where the runtime writes container logs: <logRoot>/<namespace>_<name>_<uid>/<container>/<attempt>.log. */
  logRoot: string;
}

export function scopeSelector(s: NodeScope): Record<string, string> {
  return { [Label.cluster]: s.cluster, [Label.node]: s.nodeName };
}

export function labelsFor(s: NodeScope, pod: PodRef, role: "sandbox" | "container", extra: Record<string, string> = {}): Record<string, string> {
  return { ...scopeSelector(s), [Label.podUid]: pod.uid, [Label.podName]: pod.name, [Label.podNamespace]: pod.namespace, [Label.role]: role, ...extra };
}

export function podOfLabels(l: Record<string, string>): PodRef {
  return { uid: l[Label.podUid] ?? "", namespace: l[Label.podNamespace] ?? "", name: l[Label.podName] ?? "" };
}

export function podLogDir(s: NodeScope, pod: PodRef): string {
  return join(s.logRoot, `${pod.namespace}_${pod.name}_${pod.uid}`);
}

export function sandboxConfig(s: NodeScope, pod: PodRef, o: { hostname?: string; attempt?: number } = {}): Cri.PodSandboxConfig {
  return {
    metadata: { name: pod.name, uid: pod.uid, namespace: pod.namespace, attempt: o.attempt ?? 0 },
    hostname: o.hostname?.slice(0, 63),
    log_directory: podLogDir(s, pod),
    labels: labelsFor(s, pod, "sandbox", { [Label.container]: "POD" }),
    annotations: {},
    linux: {},
  };
}

/** The CFS quota of a cpu limit, as the kubelet computes it (0 = no limit; at least 1 ms per period). */
export function cpuQuotaFor(millis: number | undefined): number {
  if (!millis) return 0;
  return Math.max(MIN_QUOTA_US, Math.floor((millis * CPU_PERIOD_US) / 1000));
}

/** cpu.shares of a cpu request, as the kubelet computes it: 1024 per core, between 2 and 262144; no request → 2. */
export function cpuSharesFor(millis: number | undefined): number {
  if (!millis) return MIN_SHARES;
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor((millis * 1024) / 1000)));
}

/**
 * The container's cgroup settings as the kubelet asks a CRI runtime for them
 * (kuberuntime's calculateLinuxResources): shares from the cpu request (else the limit), a 100 ms
 * CFS period always, the quota from the cpu limit (0: none), the memory limit in bytes, and the
 * QoS class's oom_score_adj (a runtime that restricts it raises a negative one to its own).
 */
export function resourcesFor(cfg: Pick<ContainerConfig, "cpuMillis" | "memoryBytes" | "cpuRequestMillis" | "oomScoreAdj">): Cri.LinuxContainerResources {
  const r: Cri.LinuxContainerResources = {
    cpu_period: CPU_PERIOD_US,
    cpu_quota: cpuQuotaFor(cfg.cpuMillis),
    cpu_shares: cpuSharesFor(cfg.cpuRequestMillis || cfg.cpuMillis),
  };
  if (cfg.memoryBytes) r.memory_limit_in_bytes = cfg.memoryBytes;
  if (cfg.oomScoreAdj !== undefined) r.oom_score_adj = cfg.oomScoreAdj;
  return r;
}

/**
 * The volume mounts the kubelet resolved to host paths, as CRI mounts: private propagation and no
 * SELinux relabelling (the kubelet's defaults). A directory mount shows the `..data` symlink swaps
 * of configMap/secret/projected volumes as they happen; a subPath arrives as the file it named.
 */
export function mountsFor(cfg: Pick<ContainerConfig, "mounts">): Cri.Mount[] {
  return (cfg.mounts ?? []).map((m) => ({ container_path: m.target, host_path: m.source, readonly: m.readOnly, selinux_relabel: false, propagation: "PROPAGATION_PRIVATE" }));
}

export function containerConfig(s: NodeScope, pod: PodRef, cfg: ContainerConfig, imageID: string): Cri.ContainerConfig {
  return {
    metadata: { name: cfg.name, attempt: cfg.attempt },
    image: { image: imageID || cfg.image },
    command: cfg.command ?? [],
    args: cfg.args ?? [],
    working_dir: cfg.workingDir ?? "",
    envs: Object.entries(cfg.env).map(([key, value]) => ({ key, value })),
    mounts: mountsFor(cfg),
    labels: labelsFor(s, pod, "container", { [Label.container]: cfg.name, [Label.attempt]: String(cfg.attempt), [Label.init]: String(cfg.init) }),
    annotations: { [IMAGE_ANNOTATION]: cfg.image },
    log_path: `${cfg.name}/${cfg.attempt}.log`,
    linux: { resources: resourcesFor(cfg) },
  };
}
