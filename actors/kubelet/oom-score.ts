/**
 * The `oom_score_adj` the kubelet gives a container, so that under memory pressure the kernel
 * kills best-effort containers first and guaranteed ones last (Kubernetes' pkg/kubelet/qos/policy.go):
 * Guaranteed −997, BestEffort 1000, Burstable 1000 − 1000 × memory request / node memory, kept
 * within 3…999. A pod whose QoS class is not known (a static pod read from a file) gets none: the
 * runtime's own value applies. Pure.
 *
 * @example
 *   oomScoreAdj("Burstable", 2 ** 30, 16 * 2 ** 30); // 938
 */
export const GUARANTEED_OOM_SCORE_ADJ = -997;
export const BEST_EFFORT_OOM_SCORE_ADJ = 1000;

export function oomScoreAdj(qosClass: string | undefined, memoryRequestBytes: number, memoryCapacityBytes: number): number | undefined {
  if (qosClass === "Guaranteed") return GUARANTEED_OOM_SCORE_ADJ;
  if (qosClass === "BestEffort") return BEST_EFFORT_OOM_SCORE_ADJ;
  if (qosClass !== "Burstable" || memoryCapacityBytes <= 0) return undefined;
  const adj = 1000 - Math.floor((1000 * memoryRequestBytes) / memoryCapacityBytes);
  if (adj < 1000 + GUARANTEED_OOM_SCORE_ADJ) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adj >= BEST_EFFORT_OOM_SCORE_ADJ) return BEST_EFFORT_OOM_SCORE_ADJ - 1;
  return adj;
}
