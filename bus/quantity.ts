/**
 * Kubernetes resource quantities ("100m", "0.5", "128Mi", "1G", "2e3").
 * cpu is measured in millicores, everything else in plain units (bytes, count).
 */
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY_RE = /^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?[0-9]+))?$/;

export function isQuantity(q: unknown): boolean {
  return (typeof q === "string" && QUANTITY_RE.test(q.trim())) || (typeof q === "number" && Number.isFinite(q));
}

/** The value in base units (cores for cpu, bytes for memory). Throws on a malformed quantity. */
export function parseQuantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = QUANTITY_RE.exec(q.trim());
  if (!m) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  const suffix = m[2] ?? "";
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** cpu quantity → integer millicores ("100m" → 100, "1" → 1000). */
export function milliCpu(q: string | number | undefined): number {
  if (q === undefined) return 0;
  return Math.ceil(parseQuantity(q) * 1000 - 1e-9);
}

/** memory/other quantity → integer units ("128Mi" → 134217728). */
export function units(q: string | number | undefined): number {
  if (q === undefined) return 0;
  return Math.ceil(parseQuantity(q) - 1e-9);
}

/** Formats bytes as a binary quantity ("1Gi", "512Mi", or plain bytes). */
export function formatBytes(n: number): string {
  for (const [s, v] of [["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]] as const) {
    if (n % v === 0 && n >= v) return `${n / v}${s}`;
  }
  return String(n);
}
