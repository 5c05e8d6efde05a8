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
