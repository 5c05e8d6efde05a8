/**
 * Kubernetes' 5,000-node envelope as the memory-scale benchmark runs it: Kubernetes' own defaults
 * where Flotilla's differ, and the memory budget. No imports, so the figures can use it too.
 */

/** Kubernetes' kubelet default `nodeLeaseDurationSeconds`. */
export const KUBERNETES_NODE_LEASE_SECONDS = 40;

/** kube-controller-manager's and kube-scheduler's default `--leader-elect-lease-duration` (renew deadline 10 s, retry 2 s). */
export const KUBERNETES_LEADER_LEASE_MS = 15_000;

/**
 * The envelope's memory budget (control plane + nats-server): the goal of its row, and the
 * control plane process's V8 heap limit, since Node's default (about 4 GiB here) is below what
 * 150,000 pods need in one process.
 */
export const ENVELOPE_MB = 8192;
