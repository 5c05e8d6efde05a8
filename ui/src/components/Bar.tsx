/** A labelled usage bar (a real <meter>, so screen readers read the value). */
import type { Usage } from "../lib/format.ts";
import { percent } from "../lib/format.ts";

export function Bar(p: { label: string; usage: Usage; format: (n: number) => string }) {
  const pct = percent(p.usage);
  const text = `${p.format(p.usage.used)} / ${p.usage.total > 0 ? p.format(p.usage.total) : "?"}`;
  return (
    <div class="bar">
      <div class="bar-label">
        <span>{p.label}</span>
        <span>
          {text} ({pct}%)
        </span>
      </div>
      <meter min={0} max={100} value={pct} low={70} high={90} optimum={0} aria-label={`${p.label} allocated ${pct}%`} />
    </div>
  );
}
