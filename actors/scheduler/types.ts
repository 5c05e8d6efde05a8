/**
 * The scheduler's vocabulary (types only, no runtime code).
 *
 * - PodInfo: what the scheduler needs of a pod, derived once per pod version (requests, ports, terms).
 * - NodeInfo: one node plus the pods on it (bound or assumed) and what they request.
 * - Filter plugin: rejects a node for a pod with reasons (Kubernetes' wording).
 * - Score plugin: ranks feasible nodes 0..100; its weight multiplies the normalized score.
 */
import type { Labels, Node, Pod, Taint, Toleration, NodeSelectorTerm } from "../../bus/resources.ts";
import type { Requirement } from "../../bus/selectors.ts";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../bus/storage.ts";

export interface Resources {
  cpu: number; // millicores
  memory: number; // bytes
}

export interface HostPort {
  protocol: string;
  ip: string; // "0.0.0.0" when unset
  port: number;
}

/** A pod-affinity term with its selector parsed and its namespaces resolved (null = all namespaces). */
export interface AffinityTerm {
  reqs: Requirement[];
  namespaces: ReadonlySet<string> | null;
  topologyKey: string;
  weight: number;
}

export interface PodInfo {
  readonly key: string; // "<ns>/<name>"
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly nodeName?: string;
  readonly schedulerName: string;
  readonly priority: number;
  readonly creation: number; // ms since epoch (0 when unknown)
  readonly requests: Resources;
  /** Requests with Kubernetes' non-zero defaults (100m, 200Mi) for containers that set none: used by scores. */
  readonly nonZero: Resources;
  readonly ports: readonly HostPort[];
  readonly tolerations: readonly Toleration[];
  readonly nodeSelector?: Labels;
  readonly requiredNodeTerms?: readonly NodeSelectorTerm[];
  readonly preferredNodeTerms?: readonly { weight: number; preference: NodeSelectorTerm }[];
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly AffinityTerm[];
  readonly preferredAntiAffinity: readonly AffinityTerm[];
  readonly spread: readonly SpreadConstraint[];
  /** Succeeded/Failed pods hold no resources. */
  readonly terminal: boolean;
  readonly pod: Pod;
}

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  hard: boolean; // whenUnsatisfiable: DoNotSchedule
  reqs: Requirement[];
  minDomains: number;
}

/** A pod placed on a node: bound (seen from the watch) or assumed (bind in flight). */
export interface Placed {
  readonly info: PodInfo;
  readonly node: string;
}

export interface NodeInfo {
  readonly name: string;
  node: Node;
  labels: Labels;
  taints: readonly Taint[];
  unschedulable: boolean;
  allocatable: Resources & { pods: number };
  requested: Resources;
  nonZeroRequested: Resources;
  /** `<protocol>/<port>` → host IPs in use (one entry per pod port). */
  usedPorts: Map<string, string[]>;
  pods: Map<string, PodInfo>;
}

/** The claims, volumes and classes the VolumeBinding filter reads (the scheduler's informers). */
export interface StorageView {
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  volumes(): readonly PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
}

/** What plugins may read of the snapshot. */
export interface SnapshotView {
  /** Absent: nothing is known of storage, and pods' claims are not checked. */
  readonly storage?: StorageView;
  readonly nodeList: readonly NodeInfo[];
  node(name: string): NodeInfo | undefined;
  /** Pods (bound or assumed) in the given namespaces (null = all) whose labels satisfy reqs. */
  matchingPods(namespaces: ReadonlySet<string> | null, reqs: Requirement[]): Iterable<Placed>;
  /** Bound/assumed pods that carry required anti-affinity terms. */
  podsWithRequiredAntiAffinity(): Iterable<Placed>;
  /** Topology domains: label value → number of nodes with it, for one label key. */
  domains(topologyKey: string): ReadonlyMap<string, number>;
}

export interface FilterPlugin<S = unknown> {
  readonly name: string;
  /** Per-pod work done once per scheduling attempt; undefined = nothing to check for this pod. */
  preFilter(pod: PodInfo, snap: SnapshotView): S | undefined;
  /** Reasons the node does not fit, or undefined when it does. */
  filter(state: S, pod: PodInfo, node: NodeInfo): readonly string[] | undefined;
}

export interface ScorePlugin<S = unknown> {
  readonly name: string;
  readonly weight: number;
  preScore(pod: PodInfo, snap: SnapshotView, feasible: readonly NodeInfo[]): S | undefined;
  score(state: S, pod: PodInfo, node: NodeInfo): number;
  /** Rescales raw scores to 0..100 in place (defaults to none: raw scores already are 0..100). */
  normalize?(scores: Float64Array): void;
}
