/** `flotilla logs POD | TYPE/NAME [-c C] [-f] [--tail N] [--timestamps] [-p]`. */
import type { Command } from "commander";
import type { Pod, KubeObject, KubeList, LabelSelector } from "../bus/resources.ts";
import type { ApiClient } from "./http.ts";
import { apiOptions, apiFrom, namespaceOf, resourceOrFail, type ApiFlags } from "./context.ts";
import { pathFor } from "./http.ts";
import { resourceType } from "../bus/kinds.ts";
import { CliError } from "./errors.ts";

const PODS = resourceType("pods")!;

interface LogFlags extends ApiFlags {
  container?: string;
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  previous?: boolean;
}

/** A label selector as the API's query string form (matchLabels and matchExpressions). */
export function selectorString(s: LabelSelector | Record<string, string> | undefined): string {
  if (!s) return "";
  const sel = s as LabelSelector;
  if (!("matchLabels" in sel) && !("matchExpressions" in sel)) return Object.entries(s as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(",");
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === "In") parts.push(`${e.key} in (${(e.values ?? []).join(",")})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${(e.values ?? []).join(",")})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

/** The pod a `TYPE/NAME` stands for: the pod itself, or the first pod its selector matches. */
export async function podFor(api: ApiClient, ns: string, arg: string): Promise<string> {
  if (!arg.includes("/")) return arg;
  const [type, name] = arg.split("/") as [string, string];
  const rt = resourceOrFail(type);
  if (rt.resource === "pods") return name;
  const owner = await api.get<KubeObject & { spec?: { selector?: LabelSelector | Record<string, string> } }>(pathFor(rt, { namespace: ns, name }));
  const selector = selectorString(owner.spec?.selector);
  if (!selector) throw new CliError(`${type}/${name} has no pod selector`);
  const pods = await api.get<KubeList<Pod>>(pathFor(PODS, { namespace: ns }), { query: { labelSelector: selector } });
  const live = pods.items.filter((p) => !p.metadata.deletionTimestamp).sort((a, b) => (a.status?.phase === "Running" ? 0 : 1) - (b.status?.phase === "Running" ? 0 : 1) || a.metadata.name!.localeCompare(b.metadata.name!));
  if (!live[0]) throw new CliError(`no pods found for ${type}/${name}`);
  return live[0].metadata.name!;
}

export function registerLogs(program: Command): void {
  apiOptions(
    program
      .command("logs")
      .description("print (or follow) the logs of a pod's container")
      .argument("<pod>", "POD | TYPE/NAME (a deployment, replicaset or service picks one of its pods)")
      .option("-c, --container <name>", "the container (default: the only one)")
      .option("-f, --follow", "keep streaming new lines")
      .option("--tail <n>", "only the last n lines")
      .option("--timestamps", "prefix each line with its time")
      .option("-p, --previous", "the previous (crashed) instance of the container"),
  ).action(async (arg: string, f: LogFlags) => {
    const api = apiFrom(f);
    const ns = namespaceOf(api, f)!;
    const pod = await podFor(api, ns, arg);
    const query = { container: f.container, follow: f.follow ? true : undefined, tailLines: f.tail, timestamps: f.timestamps ? true : undefined, previous: f.previous ? true : undefined };
    const path = pathFor(PODS, { namespace: ns, name: pod, subresource: "log" });
    if (!f.follow) {
      const text = await api.get<string>(path, { query, accept: "text/plain, */*" });
      process.stdout.write(typeof text === "string" ? text : JSON.stringify(text));
      return;
    }
    const ac = new AbortController();
    process.once("SIGINT", () => ac.abort());
    await api.stream(path, { query, accept: "text/plain, */*", signal: ac.signal }, (line) => process.stdout.write(line + "\n"));
  });
}
