/**
 * Container lifecycle hooks: postStart runs right after the container started (a failure kills the
 * container, and the restart policy decides the rest — `FailedPostStartHook`), preStop runs before
 * the stop signal, within the grace period (`FailedPreStopHook` when it fails; the stop goes on).
 * exec and httpGet handlers run as probes do (probes.ts); `sleep` waits.
 */
import type { LifecycleHandler } from "../../bus/resources.ts";
import type { ProbeTarget } from "./probes.ts";
import { runProbe } from "./probes.ts";

export async function runHook(h: LifecycleHandler, target: ProbeTarget, timeoutSeconds: number): Promise<{ ok: boolean; message: string }> {
  if (h.sleep) {
    await new Promise((r) => setTimeout(r, Math.min(h.sleep!.seconds, timeoutSeconds) * 1000));
    return { ok: true, message: "" };
  }
  const r = await runProbe({ exec: h.exec, httpGet: h.httpGet, timeoutSeconds: Math.max(1, timeoutSeconds) }, target);
  return { ok: r.ok, message: r.message.replace(/^probe error: /, "") };
}
