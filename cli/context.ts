/**
 * What every everyday command shares: the API client from --kubeconfig, the namespace, the NATS
 * connection of the local cluster, and kubectl-style resource arguments (`pods`, `deploy/web`,
 * `pods,svc`).
 */
import type { Command } from "commander";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ResourceType } from "../bus/kinds.ts";
import { resolve } from "node:path";
import { lookupResource, RESOURCE_TYPES } from "../bus/kinds.ts";
import { DEFAULT_CLUSTER } from "../bus/subjects.ts";
import { connectNats } from "../runtime/host.ts";
import { credentialsPath } from "../runtime/cluster/credentials.ts";
import { existsSync } from "node:fs";
import type { NatsExtension } from "../actors/api-server/kubeconfig.ts";
import { NATS_EXTENSION } from "../actors/api-server/kubeconfig.ts";
import { ApiClient, resolveKubeconfig, loadKubeconfig } from "./http.ts";
import { defaultDataDir, readState } from "./config.ts";
import { CliError } from "./errors.ts";

export interface ApiFlags {
  kubeconfig?: string;
  namespace?: string;
  allNamespaces?: boolean;
  dataDir?: string;
}

/** Adds --kubeconfig and -n/--namespace (and optionally -A) to a command. */
export function apiOptions(cmd: Command, o: { allNamespaces?: boolean } = {}): Command {
  cmd.option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, else <data dir>/kubeconfig)");
  cmd.option("-n, --namespace <ns>", "namespace (default: the kubeconfig's, else default)");
  if (o.allNamespaces) cmd.option("-A, --all-namespaces", "every namespace");
  cmd.option("--data-dir <dir>", "the cluster's data dir", defaultDataDir());
  return cmd;
}

export function apiFrom(f: ApiFlags): ApiClient {
  return ApiClient.fromKubeconfig(resolveKubeconfig(f.kubeconfig, f.dataDir ? resolve(f.dataDir) : undefined));
}

/** The namespace to use for a namespaced resource (undefined with -A). */
export function namespaceOf(api: ApiClient, f: ApiFlags): string | undefined {
  if (f.allNamespaces) return undefined;
  return f.namespace ?? api.namespace;
}

export function resourceOrFail(name: string): ResourceType {
  const rt = lookupResource(name);
  if (!rt) throw new CliError(`the server doesn't have a resource type "${name}" (known: ${RESOURCE_TYPES.map((r) => r.resource).join(", ")})`);
  return rt;
}

export interface Target {
  rt: ResourceType;
  names: string[];
}

/**
 * kubectl's argument forms: `TYPE[,TYPE…] [NAME…]` or `TYPE/NAME…`.
 * @example parseTargets(["deploy/web", "svc/web"]) // two targets, one name each
 */
export function parseTargets(args: string[]): Target[] {
  if (args.length === 0) throw new CliError("you must specify the type of resource (e.g. pods, deployments, services)");
  if (args.some((a) => a.includes("/"))) {
    const out: Target[] = [];
    for (const a of args) {
      const [type, name] = a.split("/");
      if (!type || !name) throw new CliError(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got "${a}")`);
      const rt = resourceOrFail(type);
      const t = out.find((x) => x.rt === rt);
      if (t) t.names.push(name);
      else out.push({ rt, names: [name] });
    }
    return out;
  }
  const [types, ...names] = args;
  return types!.split(",").map((t) => ({ rt: resourceOrFail(t), names }));
}

/** `deployment.apps`, `pod`, … as kubectl names a type in messages. */
export function typeLabel(rt: ResourceType): string {
  return rt.group ? `${rt.singular}.${rt.group}` : rt.singular;
}

export interface NatsFlags {
  nats?: string;
  cluster?: string;
  creds?: string;
  kubeconfig?: string;
  dataDir?: string;
}

export interface NatsTarget {
  url: string;
  cluster: string;
  creds?: string;
}

/** The kubeconfig's `flotilla.io/nats` extension, if the kubeconfig exists and has one. */
function natsOfKubeconfig(path: string): NatsExtension | undefined {
  try {
    return loadKubeconfig(path).nats;
  } catch {
    return undefined;
  }
}

/**
 * Where the cluster's NATS is, found like kubectl finds its server: `--nats` (with `--cluster`,
 * `--creds`); else the `flotilla.io/nats` extension of the kubeconfig in use (`--kubeconfig`,
 * `$KUBECONFIG`, `<data dir>/kubeconfig` — the one the API commands use); else
 * `<data dir>/cluster.json` of a running `flotilla up`.
 */
export function natsTarget(f: NatsFlags): NatsTarget {
  const dataDir = resolve(f.dataDir ?? defaultDataDir());
  const admin = credentialsPath(dataDir, "admin");
  const localCreds = f.creds ?? (existsSync(admin) ? admin : undefined);
  if (f.nats) return { url: f.nats, cluster: f.cluster ?? readState(dataDir)?.cluster ?? DEFAULT_CLUSTER, ...(localCreds ? { creds: localCreds } : {}) };
  const kubeconfig = resolveKubeconfig(f.kubeconfig, dataDir);
  const fromKc = natsOfKubeconfig(kubeconfig);
  if (fromKc) return { url: fromKc.url, cluster: f.cluster ?? fromKc.cluster, ...(f.creds || fromKc.creds ? { creds: f.creds ?? fromKc.creds } : {}) };
  const state = readState(dataDir);
  if (!state?.natsUrl) throw new CliError(`no NATS URL: the kubeconfig ${kubeconfig} does not say where NATS is (no ${NATS_EXTENSION} extension) and there is no cluster state in ${dataDir}/cluster.json — run \`flotilla up\`, or pass --nats URL`);
  return { url: state.natsUrl, cluster: f.cluster ?? state.cluster ?? DEFAULT_CLUSTER, ...(localCreds ? { creds: localCreds } : {}) };
}

/** Adds --nats, --cluster, --creds, --kubeconfig and --data-dir to a command that speaks NATS. */
export function natsOptions(cmd: Command): Command {
  return cmd
    .option("--nats <url>", "NATS URL (default: from the kubeconfig in use, else <data dir>/cluster.json)")
    .option("--cluster <name>", "cluster name (default: from the kubeconfig or <data dir>/cluster.json, else default)")
    .option("--creds <file>", "NATS credentials file (default: from the kubeconfig, if it names one)")
    .option("--kubeconfig <file>", "kubeconfig whose cluster to use (default: $KUBECONFIG, else <data dir>/kubeconfig)")
    .option("--data-dir <dir>", "the cluster's data dir", defaultDataDir());
}

/** Connects once, failing fast with one line when NATS does not answer. */
export async function connectCli(url: string, name: string, creds?: string): Promise<NatsConnection> {
  try {
    return await connectNats(url, name, creds, { maxReconnectAttempts: 0, timeout: 3000 });
  } catch {
    throw new CliError(`cannot reach NATS at ${url} — is the cluster up? run \`flotilla up\` (or pass the right --nats URL)`);
  }
}
