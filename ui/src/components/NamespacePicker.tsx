import { useNamespaceNames } from "../lib/hooks.ts";

/**
 * "" means all namespaces. The names are listed once when the picker appears (not watched: a
 * watch would hold one of the browser's six connections for a list that rarely changes).
 */
export function NamespacePicker(p: { value: string; onChange: (ns: string) => void }) {
  const names = useNamespaceNames();
  const shown = p.value && !names.includes(p.value) ? [...names, p.value] : names;
  return (
    <label class="picker">
      Namespace{" "}
      <select value={p.value} onChange={(e) => p.onChange((e.target as HTMLSelectElement).value)}>
        <option value="">All namespaces</option>
        {shown.map((n) => (
          <option value={n}>{n}</option>
        ))}
      </select>
    </label>
  );
}
