/** `flotilla get TYPE[,TYPE] [NAME…] [-o wide|yaml|json|name] [-l sel] [-A] [-w]` and `get actors`. */
import type { Command } from "commander";
import type { Table } from "../actors/api-server/tables.ts";
import type { KubeObject, KubeList } from "../bus/resources.ts";
import type { ApiClient } from "./http.ts";
import type { ResourceType } from "../bus/kinds.ts";
import { apiOptions, apiFrom, namespaceOf, parseTargets, typeLabel } from "./context.ts";
import { pathFor, TABLE_ACCEPT } from "./http.ts";
import { parseOutput, formatTable, formatYaml, formatJson, asList, formatColumns, tableRows, visibleColumns, type OutputFormat } from "./print.ts";
import { printActors } from "./cmd-actors.ts";

interface GetFlags {
  kubeconfig?: string;
  namespace?: string;
  allNamespaces?: boolean;
  dataDir?: string;
  output?: string;
  selector?: string;
  fieldSelector?: string;
  watch?: boolean;
  showLabels?: boolean;
  nats?: string;
  cluster?: string;
  creds?: string;
}

const out = (s: string) => process.stdout.write(s);

export function registerGet(program: Command): void {
  const cmd = program
    .command("get")
    .description("list resources (pods, deployments, services, nodes, …) or `get actors` (the live actor inventory)")
    .argument("<type...>", "TYPE[,TYPE] [NAME…] | TYPE/NAME… | actors")
    .option("-o, --output <format>", "wide | yaml | json | name")
    .option("-l, --selector <selector>", "label selector, e.g. app=web")
    .option("--field-selector <selector>", "field selector, e.g. spec.nodeName=node-1")
    .option("-w, --watch", "after listing, watch for changes");
  apiOptions(cmd, { allNamespaces: true });
  cmd.option("--nats <url>", "for `get actors`: NATS URL (default: from the kubeconfig in use, else <data dir>/cluster.json)");
  cmd.option("--cluster <name>", "for `get actors`: cluster name");
  cmd.option("--creds <file>", "for `get actors`: NATS credentials file (default: from the kubeconfig)");
  cmd.action(async (args: string[], f: GetFlags) => {
    if (args[0] === "actors" && args.length === 1) return printActors(f);
    const fmt = parseOutput(f.output);
    const api = apiFrom(f);
    const ns = namespaceOf(api, f);
    const targets = parseTargets(args);
    const several = targets.length > 1;
    const collected: KubeObject[] = [];
    let printed = false;
    for (const t of targets) {
      const names = t.names.length ? t.names : [undefined];
      for (const name of names) {
        if (fmt === "yaml" || fmt === "json" || fmt === "name") {
          if (name) collected.push(await api.get<KubeObject>(pathFor(t.rt, { namespace: ns, name })));
          else {
            const list = await api.get<KubeList>(pathFor(t.rt, { namespace: ns }), { query: { labelSelector: f.selector, fieldSelector: f.fieldSelector } });
            for (const o of list.items) collected.push({ ...o, apiVersion: o.apiVersion ?? (t.rt.group ? `${t.rt.group}/v1` : "v1"), kind: o.kind ?? t.rt.kind });
          }
          continue;
        }
        const table = await api.get<Table>(pathFor(t.rt, { namespace: ns, name }), {
          accept: TABLE_ACCEPT,
          query: name ? {} : { labelSelector: f.selector, fieldSelector: f.fieldSelector },
        });
        const text = formatTable(table, { wide: fmt === "wide", withNamespace: !!f.allNamespaces && t.rt.namespaced, kindPrefix: several ? typeLabel(t.rt) : undefined });
        if (text) {
          if (printed) out("\n");
          out(text);
          printed = true;
        }
        if (f.watch && !name) await watchTable(api, t.rt, ns, table, f, fmt);
      }
    }
    if (fmt === "yaml" || fmt === "json" || fmt === "name") {
      const single = collected.length === 1 && targets.every((t) => t.names.length === 1);
      const doc = single ? collected[0] : asList(collected);
      if (fmt === "yaml") out(formatYaml(doc));
      else if (fmt === "json") out(formatJson(doc));
      else for (const o of collected) out(`${typeLabel(targets.find((t) => t.rt.kind === o.kind)?.rt ?? targets[0]!.rt)}/${o.metadata.name}\n`);
      return;
    }
    if (!printed) {
      const where = ns && targets.some((t) => t.rt.namespaced) ? ` in ${ns} namespace` : "";
      process.stderr.write(`No resources found${where}.\n`);
    }
  });
}

/** Follows a Table watch: one line per changed row, aligned to the first listing's widths. */
async function watchTable(api: ApiClient, rt: ResourceType, ns: string | undefined, first: Table, f: GetFlags, fmt: OutputFormat): Promise<void> {
  const columns = visibleColumns(first, fmt === "wide");
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  process.once("SIGTERM", () => ac.abort());
  await api.stream(
    pathFor(rt, { namespace: ns }),
    {
      accept: TABLE_ACCEPT,
      signal: ac.signal,
      query: { watch: true, resourceVersion: first.metadata.resourceVersion, labelSelector: f.selector, fieldSelector: f.fieldSelector },
    },
    (line) => {
      if (!line.trim()) return;
      const ev = JSON.parse(line) as { type: string; object: Table | KubeObject };
      if (ev.type === "BOOKMARK" || ev.type === "ERROR") return;
      const t = ev.object as Table;
      if (t.kind !== "Table") return;
      const rows = tableRows({ ...t, columnDefinitions: first.columnDefinitions }, { withNamespace: !!f.allNamespaces && rt.namespaced }, columns);
      out(formatColumns(undefined, rows));
    },
  );
}
