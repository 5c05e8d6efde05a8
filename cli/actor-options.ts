/** `--opt key=value` pairs → an actor's options (numbers, booleans and JSON values parsed). */
export function parseActorOptions(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new Error(`--opt expects key=value, got "${p}"`);
    const k = p.slice(0, i);
    const raw = p.slice(i + 1);
    let v: unknown = raw;
    if (/^-?\d+(\.\d+)?$/.test(raw)) v = Number(raw);
    else if (raw === "true" || raw === "false") v = raw === "true";
    else if (/^[[{]/.test(raw)) {
      try {
        v = JSON.parse(raw);
      } catch {
        v = raw;
      }
    }
    out[k] = v;
  }
  return out;
}

/**
 * `--lease-ms`: the lease duration of leader-elected actors, whole milliseconds (renew deadline and
 * retry period follow it, runtime/leader-timing.ts). Kubernetes' controller-manager default is 15000.
 */
export function parseLeaseMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 300) throw new Error(`--lease-ms expects whole milliseconds, at least 300 (got "${v}")`);
  return Number(v);
}
