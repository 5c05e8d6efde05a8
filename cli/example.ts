import type { RunningCluster } from "./up.ts";
export async function applyExample(_c: RunningCluster): Promise<void> {
  throw new Error("the example is not wired yet");
}
