import type { Namespace } from "../../../bus/resources.ts";
import { useResource } from "../lib/hooks.ts";

/** "" means all namespaces. */
export function NamespacePicker(p: { value: string; onChange: (ns: string) => void }) {
  const ns = useResource<Namespace>("namespaces");
  const names = ns.items.map((n) => n.metadata.name!).sort();
  if (p.value && !names.includes(p.value)) names.push(p.value);
  return (
    <label class="picker">
      Namespace{" "}
      <select value={p.value} onChange={(e) => p.onChange((e.target as HTMLSelectElement).value)}>
        <option value="">All namespaces</option>
        {names.map((n) => (
          <option value={n}>{n}</option>
        ))}
      </select>
    </label>
  );
}
