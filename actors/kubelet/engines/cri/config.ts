/**
 * How the cri engine names things for the runtime: the labels that keep a container to its
 * cluster, node and pod (the docker engine's label keys), the pod sandbox config (log directory
 * per pod), and the container config (resources as cgroup CPU quota/shares and a memory limit).
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

/** cpu millicores → CFS quota over a 100 ms period and shares (1024 per core, at least 2). */
export function resourcesFor(cfg: Pick<ContainerConfig, "cpuMillis" | "memoryBytes">): Cri.LinuxContainerResources {
  const r: Cri.LinuxContainerResources = {};
  if (cfg.cpuMillis) {
    r.cpu_period = CPU_PERIOD_US;
    r.cpu_quota = Math.max(1000, Math.round((cfg.cpuMillis * CPU_PERIOD_US) / 1000));
    r.cpu_shares = Math.max(2, Math.round((cfg.cpuMillis * 1024) / 1000));
  }
  if (cfg.memoryBytes) r.memory_limit_in_bytes = cfg.memoryBytes;
  return r;
}

export function containerConfig(s: NodeScope, pod: PodRef, cfg: ContainerConfig, imageID: string): Cri.ContainerConfig {
  return {
    metadata: { name: cfg.name, attempt: cfg.attempt },
    image: { image: imageID || cfg.image },
    command: cfg.command ?? [],
    args: cfg.args ?? [],
    working_dir: cfg.workingDir ?? "",
    envs: Object.entries(cfg.env).map(([key, value]) => ({ key, value })),
    labels: labelsFor(s, pod, "container", { [Label.container]: cfg.name, [Label.attempt]: String(cfg.attempt), [Label.init]: String(cfg.init) }),
    annotations: { [IMAGE_ANNOTATION]: cfg.image },
    log_path: `${cfg.name}/${cfg.attempt}.log`,
    linux: { resources: resourcesFor(cfg) },
  };
}
