/** Kubelet back-off arithmetic (pure): 10 s doubling to a 5 min cap; the first restart is immediate. */
export const DEFAULT_BACKOFF_BASE_MS = 10_000;
export const DEFAULT_BACKOFF_MAX_MS = 300_000;

export interface BackoffConfig {
  baseMs: number;
  maxMs: number;
}

/** Delay before restart number `restartCount + 1` (restartCount = restarts already done). */
export function restartDelayMs(restartCount: number, cfg: BackoffConfig): number {
  if (restartCount <= 0) return 0;
  return Math.min(cfg.baseMs * 2 ** (restartCount - 1), cfg.maxMs);
}

/** Delay before retrying after `failures` consecutive failures (image pulls, config errors). */
export function retryDelayMs(failures: number, cfg: BackoffConfig): number {
  if (failures <= 0) return 0;
  return Math.min(cfg.baseMs * 2 ** (failures - 1), cfg.maxMs);
}


