/**
 * The CRI v1 messages the cri engine sends and reads, as @grpc/proto-loader decodes them
 * (keepCase, int64 as string, enums as names, defaults filled in). Types only.
 */

export type Labels = Record<string, string>;

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  log_directory?: string;
  dns_config?: { servers: string[]; searches: string[]; options: string[] };
  port_mappings?: { protocol?: "TCP" | "UDP" | "SCTP"; container_port: number; host_port?: number; host_ip?: string }[];
  labels?: Labels;
  annotations?: Labels;
  linux?: { cgroup_parent?: string; sysctls?: Labels };
}

export type PodSandboxState = "SANDBOX_READY" | "SANDBOX_NOTREADY";
export type ContainerState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  created_at: string;
  labels: Labels;
  annotations: Labels;
}

export interface PodSandboxStatus extends PodSandbox {
  network: { ip: string; additional_ips: { ip: string }[] } | null;
}

export interface ImageSpec {
  image: string;
  annotations?: Labels;
}

export interface LinuxContainerResources {
  cpu_period?: number;
  cpu_quota?: number;
  cpu_shares?: number;
  memory_limit_in_bytes?: number;
  oom_score_adj?: number;
}

export type MountPropagation = "PROPAGATION_PRIVATE" | "PROPAGATION_HOST_TO_CONTAINER" | "PROPAGATION_BIDIRECTIONAL";

/** A host path (file or directory) bind-mounted into the container; the runtime follows a symlinked host_path. */
export interface Mount {
  container_path: string;
  host_path: string;
  readonly?: boolean;
  selinux_relabel?: boolean;
  propagation?: MountPropagation;
}

export interface ContainerConfig {
  metadata: { name: string; attempt: number };
  image: ImageSpec;
  command?: string[];
  args?: string[];
  working_dir?: string;
  envs?: { key: string; value: string }[];
  mounts?: Mount[];
  labels?: Labels;
  annotations?: Labels;
  log_path?: string;
  linux?: { resources?: LinuxContainerResources };
}

export interface Container {
  id: string;
  pod_sandbox_id: string;
  metadata: { name: string; attempt: number };
  image: ImageSpec | null;
  image_ref: string;
  state: ContainerState;
  created_at: string;
  labels: Labels;
  annotations: Labels;
}

export interface ContainerStatus {
  id: string;
  metadata: { name: string; attempt: number };
  state: ContainerState;
  created_at: string;
  started_at: string;
  finished_at: string;
  exit_code: number;
  image: ImageSpec | null;
  image_ref: string;
  reason: string;
  message: string;
  labels: Labels;
  annotations: Labels;
  log_path: string;
}

export interface Image {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: string;
}

type Filter = { label_selector?: Labels; id?: string };

/** A uint64 wrapper (a decimal string, as int64s are); null when the runtime has no value. */
export type UInt64Value = { value: string } | null;

export interface ContainerStats {
  attributes: { id: string; metadata: { name: string; attempt: number }; labels: Labels; annotations: Labels } | null;
  cpu: { timestamp: string; usage_core_nano_seconds: UInt64Value } | null;
  memory: { timestamp: string; working_set_bytes: UInt64Value } | null;
}

/** Request and response of each RuntimeService RPC used. */
export interface RuntimeRpcs {
  Version: [{ version?: string }, { version: string; runtime_name: string; runtime_version: string; runtime_api_version: string }];
  RunPodSandbox: [{ config: PodSandboxConfig; runtime_handler?: string }, { pod_sandbox_id: string }];
  StopPodSandbox: [{ pod_sandbox_id: string }, object];
  RemovePodSandbox: [{ pod_sandbox_id: string }, object];
  PodSandboxStatus: [{ pod_sandbox_id: string; verbose?: boolean }, { status: PodSandboxStatus | null }];
  ListPodSandbox: [{ filter?: Filter & { state?: { state: PodSandboxState } } }, { items: PodSandbox[] }];
  CreateContainer: [{ pod_sandbox_id: string; config: ContainerConfig; sandbox_config: PodSandboxConfig }, { container_id: string }];
  StartContainer: [{ container_id: string }, object];
  StopContainer: [{ container_id: string; timeout: number }, object];
  RemoveContainer: [{ container_id: string }, object];
  ListContainers: [{ filter?: Filter & { pod_sandbox_id?: string; state?: { state: ContainerState } } }, { containers: Container[] }];
  ContainerStatus: [{ container_id: string; verbose?: boolean }, { status: ContainerStatus | null }];
  ListContainerStats: [{ filter?: { id?: string; pod_sandbox_id?: string; label_selector?: Labels } }, { stats: ContainerStats[] }];
  ExecSync: [{ container_id: string; cmd: string[]; timeout: number }, { stdout: Buffer; stderr: Buffer; exit_code: number }];
}

/** Request and response of each ImageService RPC used. */
export interface ImageRpcs {
  ListImages: [{ filter?: { image?: ImageSpec } }, { images: Image[] }];
  ImageStatus: [{ image: ImageSpec; verbose?: boolean }, { image: Image | null }];
  PullImage: [{ image: ImageSpec; sandbox_config?: PodSandboxConfig }, { image_ref: string }];
}
