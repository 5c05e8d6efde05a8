/** `cordon`, `uncordon`, `drain` (over the HTTP API) and `node join` (a kubelet + proxy in this process). */
import type { Command } from "commander";
import type { Pod, KubeList } from "../bus/resources.ts";
import type { ApiClient } from "./http.ts";
import { Option } from "commander";
import { join, resolve } from "node:path";
import { hostname } from "node:os";
import { apiOptions, apiFrom, type ApiFlags } from "./context.ts";
import { pathFor, ApiError } from "./http.ts";
import { resourceType } from "../bus/kinds.ts";
import { DEFAULT_CLUSTER } from "../bus/subjects.ts";
import { defaultDataDir } from "./config.ts";
import { CliError } from "./errors.ts";

const NODES = resourceType("nodes")!;
const PODS = resourceType("pods")!;
const say = (s: string) => process.stdout.write(s + "\n");

async function setUnschedulable(api: ApiClient, node: string, on: boolean): Promise<void> {
  await api.request("PATCH", pathFor(NODES, { name: node }), { body: { spec: { unschedulable: on ? true : null } }, contentType: "application/merge-patch+json" });
  say(`node/${node} ${on ? "cordoned" : "uncordoned"}`);
}

/** Pods drain evicts: everything bound to the node except mirror pods and finished pods. */
export function podsToEvict(pods: Pod[]): Pod[] {
  return pods.filter((p) => !p.metadata.annotations?.["kubernetes.io/config.mirror"] && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
}

async function drain(api: ApiClient, node: string, timeoutMs: number, force: boolean): Promise<void> {
  await setUnschedulable(api, node, true);
  const list = await api.get<KubeList<Pod>>(pathFor(PODS), { query: { fieldSelector: `spec.nodeName=${node}` } });
  const pods = podsToEvict(list.items);
  const unmanaged = pods.filter((p) => !p.metadata.ownerReferences?.some((r) => r.controller));
  if (unmanaged.length && !force) {
    throw new CliError(`cannot drain node/${node}: pods not managed by a controller (use --force): ${unmanaged.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(", ")}`);
  }
  for (const p of pods) {
    const ns = p.metadata.namespace!;
    const name = p.metadata.name!;
    try {
      await api.request("POST", pathFor(PODS, { namespace: ns, name, subresource: "eviction" }), {
        body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: ns } },
      });
      say(`evicting pod ${ns}/${name}`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
  const deadline = Date.now() + timeoutMs;
  const remaining = new Set(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}/${p.metadata.uid}`));
  while (remaining.size && Date.now() < deadline) {
    for (const key of [...remaining]) {
      const [ns, name, uid] = key.split("/") as [string, string, string];
      const gone = await api.get<Pod>(pathFor(PODS, { namespace: ns, name })).then(
        (p) => p.metadata.uid !== uid,
        (e: unknown) => e instanceof ApiError && e.status === 404,
      );
      if (gone) {
        remaining.delete(key);
        say(`pod/${name} evicted`);
      }
    }
    if (remaining.size) await new Promise((r) => setTimeout(r, 300));
  }
  if (remaining.size) throw new CliError(`drain of node/${node} timed out; still there: ${[...remaining].map((k) => k.split("/").slice(0, 2).join("/")).join(", ")}`);
  say(`node/${node} drained`);
}

export function registerNode(program: Command): void {
  for (const on of [true, false]) {
    apiOptions(program.command(on ? "cordon" : "uncordon").description(on ? "mark nodes unschedulable" : "mark nodes schedulable again").argument("<nodes...>", "node names")).action(
      async (nodes: string[], f: ApiFlags) => {
        const api = apiFrom(f);
        for (const n of nodes) await setUnschedulable(api, n.replace(/^nodes?\//, ""), on);
      },
    );
  }
  apiOptions(
    program
      .command("drain")
      .description("cordon a node and evict its pods (their controllers re-create them elsewhere)")
      .argument("<node>", "node name")
      .option("--timeout <seconds>", "how long to wait for the pods to go", "120")
      .option("--force", "also evict pods no controller manages")
      .option("--ignore-daemonsets", "accepted for kubectl compatibility (Flotilla has no DaemonSets)")
      .option("--delete-emptydir-data", "accepted for kubectl compatibility"),
  ).action(async (node: string, f: ApiFlags & { timeout: string; force?: boolean }) => {
    await drain(apiFrom(f), node.replace(/^nodes?\//, ""), Number(f.timeout) * 1000, !!f.force);
  });

  const nodeCmd = program.command("node").description("node commands");
  nodeCmd
    .command("join")
    .description("run a kubelet + proxy in this process, joining the cluster: `node join <server> --token T`, or `--nats URL`")
    .argument("[server]", "a server of the cluster (address, or address:natsPort); every other server is found through it")
    .option("--token <token>", "the cluster's join token")
    .option("--address <ip>", "the node's InternalIP (default 127.0.0.1)")
    .option("--leaf", "connect out as a NATS leaf node (a worker behind NAT: no inbound port)")
    .option("--nats <url>", "the cluster's NATS URL instead of <server> (comma-separated for several servers)")
    .option("--name <name>", "node name", hostname())
    .option("--creds <file>", "NATS credentials file (with --nats)")
    .option("--cluster <name>", "cluster name", DEFAULT_CLUSTER)
    .addOption(new Option("--engine <engine>", "container engine").choices(["docker", "process", "simulated"]).default("process"))
    .option("--host-ip <ip>", "same as --address")
    .option("--data-dir <dir>", "where the kubelet keeps its state", defaultDataDir())
    .option("--label <k=v...>", "node label (repeatable)")
    .addOption(new Option("--network <mode>", "pod: pods in network namespaces with addresses from the node's podCIDR, Services in the kernel (root; with --nats); loopback: pods share the host's network").choices(["loopback", "pod"]).default("loopback"))
    .action(
      async (
        server: string | undefined,
        o: { nats?: string; token?: string; address?: string; leaf?: boolean; name: string; creds?: string; cluster: string; engine: string; hostIp?: string; dataDir: string; label?: string[]; network: "loopback" | "pod" },
      ) => {
        const labels = Object.fromEntries((o.label ?? []).map((l) => l.split("=") as [string, string]));
        const address = o.address ?? o.hostIp;
        if (server) {
          if (!o.token) throw new CliError("node join <server> needs --token (printed by the first server, in its <data-dir>/token)");
          const { nodeJoin } = await import("./node-join.ts");
          const n = await nodeJoin({ server, token: o.token, name: o.name, cluster: o.cluster, engine: o.engine, address, leaf: o.leaf, dataDir: resolve(o.dataDir), labels });
          let signals = 0;
          const stop = (leave: boolean) => {
            if (++signals > 1) process.exit(130);
            void (leave ? n.leave() : n.host.stop().then(() => n.leafServer?.stop())).then(() => process.exit(0));
          };
          process.on("SIGTERM", () => stop(false));
          process.on("SIGINT", () => stop(false));
          process.on("SIGUSR2", () => stop(true));
          process.stderr.write(`node ${o.name} joined cluster "${o.cluster}" through ${server}${o.leaf ? " as a leaf node" : ""} (${o.engine} engine); Ctrl-C stops it, \`flotilla node leave\` leaves\n`);
          return;
        }
        if (!o.nats) throw new CliError("node join needs a server (with --token) or --nats URL");
        const { ACTORS } = await import("../actors/registry.ts");
        const { startHost } = await import("../runtime/host.ts");
        await startHost({
          natsUrl: o.nats,
          creds: o.creds,
          cluster: o.cluster,
          handleSignals: true,
          actors: [
            { def: ACTORS.kubelet!, opts: { nodeName: o.name, engine: o.engine, labels, dataDir: join(resolve(o.dataDir), "nodes", o.name), ...(address ? { hostIP: address } : {}), ...(o.network === "pod" ? { network: "pod", stopPodsOnExit: true } : {}) } },
            { def: ACTORS.proxy!, opts: { nodeName: o.name, ...(o.network === "pod" ? { mode: "kernel", clusterCIDR: "10.244.0.0/16", ...(address ? { nodeAddress: address } : {}) } : {}) } },
            ...(o.network === "pod" ? [{ def: ACTORS["network-policy"]!, opts: { nodeName: o.name } }] : []),
          ],
        });
        process.stderr.write(`node ${o.name} joined cluster "${o.cluster}" at ${o.nats} (${o.engine} engine); Ctrl-C leaves\n`);
      },
    );

  nodeCmd
    .command("leave")
    .description("take the node run by `node join` out of the cluster: its Node object is deleted and it stops")
    .option("--name <name>", "node name", hostname())
    .option("--data-dir <dir>", "the node's data dir", defaultDataDir())
    .action(async (o: { name: string; dataDir: string }) => {
      const { nodeStatePath } = await import("./node-join.ts");
      const { existsSync, readFileSync } = await import("node:fs");
      const p = nodeStatePath(resolve(o.dataDir), o.name);
      if (!existsSync(p)) throw new CliError(`no node ${o.name} is running from ${resolve(o.dataDir)}`);
      const { pid } = JSON.parse(readFileSync(p, "utf8")) as { pid: number };
      process.kill(pid, "SIGUSR2");
      const alive = () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      const deadline = Date.now() + 30_000;
      while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (alive()) throw new CliError(`node ${o.name} (pid ${pid}) did not stop in 30 s`);
      say(`node ${o.name} left the cluster`);
    });
}
