/**
 * Kubernetes' HumanDuration (apimachinery pkg/util/duration): ~2–3 significant figures, as the Age
 * column shows it: `<2m → "Ns"`, `<10m → "XmYs"`, `<3h → "Xm"`, `<8h → "XhYm"`, `<48h → "Xh"`,
 * `<8d → "XdYh"`, `<2y → "Xd"`, `<8y → "XyYd"`, then `"Xy"`. Up to 1 s in the future reads `0s`.
 *
 * @example humanDuration(125_000) // "2m5s"
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** Kubernetes' translateTimestampSince: the age of an RFC 3339 timestamp, `<unknown>` when unset. */
export function ageOf(timestamp: string | null | undefined, now: Date): string {
  if (!timestamp) return "<unknown>";
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now.getTime() - t);
}
