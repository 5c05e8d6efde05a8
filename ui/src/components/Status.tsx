/** Small status pieces shared by the views. */
export function Badge(p: { text: string }) {
  const tone = /^(Ready|Running|Succeeded|Normal|True|Completed)$/.test(p.text)
    ? "ok"
    : /NotReady|Failed|Error|CrashLoop|Warning|Unknown|False|BackOff|Err/.test(p.text)
      ? "bad"
      : "warn";
  return <span class={`badge ${tone}`}>{p.text}</span>;
}

export function Loading(p: { synced: boolean; error?: string | undefined; what: string }) {
  if (p.error) return <p class="error" role="status">Could not load {p.what}: {p.error} — retrying.</p>;
  if (!p.synced) return <p class="muted" role="status">Loading {p.what}…</p>;
  return null;
}
