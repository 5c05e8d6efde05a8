/** `flotilla describe TYPE NAME…`: the object's main fields, then its Events. */
import type { Command } from "commander";
import type { KubeObject, KubeList, Event } from "../bus/resources.ts";
import { stringify } from "yaml";
import { apiOptions, apiFrom, namespaceOf, parseTargets, type ApiFlags } from "./context.ts";
import { pathFor } from "./http.ts";
import { resourceType } from "../bus/kinds.ts";
import { formatColumns, age } from "./print.ts";
import { CliError } from "./errors.ts";

const EVENTS = resourceType("events")!;

const kv = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${v}`) : ["<none>"]);

/** The describe text of an object and its events (pure). */
export function describeText(o: KubeObject, events: Event[], now: number): string {
  const lines: string[] = [];
  const field = (k: string, v: string | string[]) => {
    const vs = Array.isArray(v) ? v : [v];
    lines.push(`${(k + ":").padEnd(14)}${vs[0] ?? ""}`);
    for (const x of vs.slice(1)) lines.push(`${"".padEnd(14)}${x}`);
  };
  field("Name", o.metadata.name ?? "");
  if (o.metadata.namespace) field("Namespace", o.metadata.namespace);
  field("Kind", o.kind ?? "");
  field("Labels", kv(o.metadata.labels));
  field("Annotations", kv(Object.fromEntries(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => k !== "kubectl.kubernetes.io/last-applied-configuration"))));
  field("Created", `${o.metadata.creationTimestamp ?? "<unknown>"} (${age(o.metadata.creationTimestamp, now)} ago)`);
  if (o.metadata.ownerReferences?.length) field("Controlled By", o.metadata.ownerReferences.map((r) => `${r.kind}/${r.name}`));
  if (o.metadata.deletionTimestamp) field("Terminating", `since ${o.metadata.deletionTimestamp}`);
  for (const section of ["spec", "data", "subsets", "status"] as const) {
    const v = (o as unknown as Record<string, unknown>)[section];
    if (v === undefined || v === null) continue;
    lines.push(`${section[0]!.toUpperCase()}${section.slice(1)}:`);
    lines.push(stringify(v, { lineWidth: 0 }).trimEnd().replace(/^/gm, "  "));
  }
  lines.push("Events:" + (events.length ? "" : "        <none>"));
  if (events.length) {
    const rows = [...events]
      .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? "").localeCompare(String(b.lastTimestamp ?? b.eventTime ?? "")))
      .map((e) => {
        const when = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
        const count = (e.count ?? 1) > 1 ? ` (x${e.count} over ${age(e.firstTimestamp ?? when, now)})` : "";
        return [e.type ?? "Normal", e.reason ?? "", age(when, now) + count, e.source?.component ?? e.reportingComponent ?? "", e.message ?? ""];
      });
    lines.push(formatColumns(["Type", "Reason", "Age", "From", "Message"], rows).trimEnd().replace(/^/gm, "  "));
  }
  return lines.join("\n") + "\n";
}

export function registerDescribe(program: Command): void {
  apiOptions(program.command("describe").description("show an object in detail, with its Events").argument("<args...>", "TYPE NAME… | TYPE/NAME…")).action(
    async (args: string[], f: ApiFlags) => {
      const api = apiFrom(f);
      const ns = namespaceOf(api, f);
      let first = true;
      for (const t of parseTargets(args)) {
        if (!t.names.length) throw new CliError(`describe needs a name: describe ${t.rt.resource} NAME`);
        for (const name of t.names) {
          const o = await api.get<KubeObject>(pathFor(t.rt, { namespace: ns, name }));
          const oNs = o.metadata.namespace;
          const fieldSelector = [`involvedObject.name=${name}`, `involvedObject.uid=${o.metadata.uid}`, ...(oNs ? [`involvedObject.namespace=${oNs}`] : [])].join(",");
          const events = await api
            .get<KubeList<Event>>(pathFor(EVENTS, { namespace: oNs }), { query: { fieldSelector } })
            .then((l) => l.items, () => [] as Event[]);
          if (!first) process.stdout.write("\n\n");
          first = false;
          process.stdout.write(describeText({ ...o, kind: o.kind ?? t.rt.kind }, events, Date.now()));
        }
      }
    },
  );
}
