/** `flotilla status` (is the local cluster up, its URLs, nodes, actors) and `flotilla dashboard`. */
import type { Command } from "commander";
import type { Node, KubeList } from "../bus/resources.ts";
import { resolve } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { defaultDataDir, readState, isAlive } from "./config.ts";
import { ApiClient, pathFor } from "./http.ts";
import { resourceType } from "../bus/kinds.ts";
import { listActors } from "./cmd-actors.ts";
import { formatColumns } from "./print.ts";
import { CliError } from "./errors.ts";

const say = (s: string) => process.stdout.write(s + "\n");

/** Ready/total and the names of nodes that are not Ready (pure). */
export function nodeSummary(nodes: Node[]): { ready: number; total: number; notReady: string[] } {
  const isReady = (n: Node) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
  return { ready: nodes.filter(isReady).length, total: nodes.length, notReady: nodes.filter((n) => !isReady(n)).map((n) => n.metadata.name!) };
}

/** One line per node that was asked for pod networking: what it got (pure). */
export function networkLines(nodes: Node[]): string[] {
  return nodes.flatMap((n) => {
    const mode = n.metadata.labels?.["flotilla.io/network"];
    if (!mode) return [];
    const why = n.status?.conditions?.find((c) => c.type === "NetworkUnavailable")?.message ?? "";
    return [`  network:     ${n.metadata.name}: ${mode}${why ? ` — ${why}` : ""}`];
  });
}

/**
 * The dashboard on an api-server that answers: the kubeconfig's servers are tried in turn, as every
 * CLI request does (with `up --servers`, a dead first server moves the dashboard to the next).
 */
export async function dashboardUrl(kubeconfig: string): Promise<{ url: string; others: string[] }> {
  const api = ApiClient.fromKubeconfig(kubeconfig);
  await api.get("/version");
  return { url: `${api.server}/ui/`, others: api.kc.servers.filter((x) => x !== api.server).map((x) => `${x}/ui/`) };
}

function runningState(dataDir: string) {
  const s = readState(dataDir);
  if (!s || !isAlive(s.pid)) throw new CliError(`no cluster is running from ${dataDir} — start one with \`flotilla up\`${dataDir === defaultDataDir() ? "" : ` --data-dir ${dataDir}`}`);
  return s;
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("is the cluster from the data dir running: URLs, nodes Ready, actors")
    .option("--data-dir <dir>", "the cluster's data dir", defaultDataDir())
    .action(async (o: { dataDir: string }) => {
      const dataDir = resolve(o.dataDir);
      const s = runningState(dataDir);
      say(`Flotilla is running (pid ${s.pid}, since ${s.startedAt}), cluster "${s.cluster}", ${s.engine} engine`);
      say(`  API server:  ${s.apiUrl}   (dashboard: ${s.apiUrl}/ui/)`);
      say(`  NATS:        ${s.natsUrl}`);
      say(`  kubeconfig:  ${s.kubeconfig}`);
      if (s.servers?.length) {
        const { printServers } = await import("./status-servers.ts");
        await printServers(dataDir, s);
      }
      try {
        const api = ApiClient.fromKubeconfig(s.kubeconfig);
        const nodes = await api.get<KubeList<Node>>(pathFor(resourceType("nodes")!));
        const n = nodeSummary(nodes.items);
        say(`  nodes:       ${n.ready}/${n.total} Ready${n.notReady.length ? ` (not Ready: ${n.notReady.join(", ")})` : ""}`);
        for (const line of networkLines(nodes.items)) say(line);
      } catch (e) {
        say(`  nodes:       unknown — ${(e as Error).message}`);
        process.exitCode = 1;
      }
      const actors = await listActors({ nats: s.natsUrl, cluster: s.cluster, dataDir });
      const kinds = new Map<string, { n: number; leader: boolean }>();
      for (const a of actors) {
        const k = kinds.get(a.kind) ?? { n: 0, leader: false };
        kinds.set(a.kind, { n: k.n + 1, leader: k.leader || a.leader === true });
      }
      say(`  actors:      ${actors.length} answering`);
      process.stdout.write(formatColumns(undefined, [...kinds].map(([k, v]) => [`    ${k}`, `×${v.n}`, v.leader ? "leader elected" : ""])));
    });

  program
    .command("dashboard")
    .description("print (or --open) the dashboard URL and how to sign in")
    .option("--data-dir <dir>", "the cluster's data dir", defaultDataDir())
    .option("--open", "open it in a browser (xdg-open) when one is available")
    .action(async (o: { dataDir: string; open?: boolean }) => {
      const dataDir = resolve(o.dataDir);
      const s = runningState(dataDir);
      const { url, others } = await dashboardUrl(s.kubeconfig);
      const tokens = resolve(dataDir, "tokens.csv");
      say(`Dashboard: ${url}`);
      if (others.length) say(`  (every server serves it: ${others.join(", ")})`);
      // The token itself is never printed: terminals are logged and shared.
      say("Sign in with a bearer token, for example:");
      say(`  the admin token (first column of the admin line of ${tokens}, mode 0600):`);
      say(`    awk -F, '$2 == "admin" { print $1 }' ${tokens}`);
      say("  or a ServiceAccount's token with exactly the roles bound to it:");
      say("    kubectl create token <serviceaccount> -n <namespace>");
      say(`The browser must trust the cluster CA (${resolve(dataDir, "pki", "ca.crt")}) or accept its certificate once.`);
      if (o.open) {
        const has = spawnSync("sh", ["-c", "command -v xdg-open"], { encoding: "utf8" }).status === 0;
        if (!has) say("(xdg-open is not available here: open the URL yourself)");
        else spawn("xdg-open", [url], { detached: true, stdio: "ignore" }).unref();
      }
    });
}
