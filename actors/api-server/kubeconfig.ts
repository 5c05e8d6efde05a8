/**
 * A kubeconfig for kubectl and client libraries: the cluster's CA, the api-server URL and a token.
 * The cluster entry also carries where the cluster's NATS is (the extension `flotilla.io/nats`:
 * URL, cluster name, credentials file when the bus is secured, data dir), so that the `flotilla`
 * commands that speak NATS find the cluster the kubeconfig in use selects, as kubectl finds its
 * server. With several servers, the extension `flotilla.io/servers` lists every api-server, and
 * the `flotilla` CLI moves on to the next one when the one it uses cannot be reached (kubectl uses
 * `server` only: put a load-balanced address there, docs/ha.md). kubectl keeps cluster extensions
 * when it rewrites the file.
 *
 * @example
 *   writeKubeconfig(join(home, ".kube/config"), { server: "https://127.0.0.1:6443", caPem, token });
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { stringify } from "yaml";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";

/** The name of the cluster extension that says where the cluster's NATS is. */
export const NATS_EXTENSION = "flotilla.io/nats";

/** The name of the cluster extension that lists every api-server of a cluster with several servers. */
export const SERVERS_EXTENSION = "flotilla.io/servers";

export interface NatsExtension {
  /** NATS URL(s), comma-separated. */
  url: string;
  /** Cluster name (the subject prefix `flotilla.<cluster>.`). */
  cluster: string;
  /** NATS credentials file, when the bus is secured. */
  creds?: string;
  /** The data dir of the `flotilla up` that wrote this kubeconfig. */
  dataDir?: string;
}

/** Reads the extension from a kubeconfig cluster entry's `extensions` (undefined when absent or malformed). */
export function natsExtensionOf(extensions: unknown): NatsExtension | undefined {
  if (!Array.isArray(extensions)) return undefined;
  const e = (extensions as { name?: unknown; extension?: Record<string, unknown> }[]).find((x) => x?.name === NATS_EXTENSION)?.extension;
  if (!e || typeof e.url !== "string" || !e.url || typeof e.cluster !== "string" || !e.cluster) return undefined;
  return {
    url: e.url,
    cluster: e.cluster,
    ...(typeof e.creds === "string" && e.creds ? { creds: e.creds } : {}),
    ...(typeof e.dataDir === "string" && e.dataDir ? { dataDir: e.dataDir } : {}),
  };
}

/** Reads the api-server URLs of the `flotilla.io/servers` extension ([] when absent or malformed). */
export function serversExtensionOf(extensions: unknown): string[] {
  if (!Array.isArray(extensions)) return [];
  const e = (extensions as { name?: unknown; extension?: Record<string, unknown> }[]).find((x) => x?.name === SERVERS_EXTENSION)?.extension;
  const api = e?.api;
  return Array.isArray(api) ? api.filter((u): u is string => typeof u === "string" && /^https:\/\//.test(u)) : [];
}

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  /** A bearer token, or (empty token) the client certificate below. */
  token: string;
  clientCert?: { certPem: string; keyPem: string };
  /** Where the cluster's NATS is (written as the cluster extension `flotilla.io/nats`). */
  nats?: NatsExtension;
  /** Every api-server of the cluster, `server` first (written as the extension `flotilla.io/servers`). */
  servers?: string[];
  /** Names the cluster, user and context (default "flotilla"). */
  name?: string;
}

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const name = o.name ?? "flotilla";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name,
        cluster: {
          server: o.server,
          "certificate-authority-data": Buffer.from(o.caPem).toString("base64"),
          ...(extensionsOf(o).length ? { extensions: extensionsOf(o) } : {}),
        },
      },
    ],
    users: [
      {
        name,
        user: o.clientCert
          ? { "client-certificate-data": Buffer.from(o.clientCert.certPem).toString("base64"), "client-key-data": Buffer.from(o.clientCert.keyPem).toString("base64") }
          : { token: o.token },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: name, namespace: "default" } }],
    "current-context": name,
    preferences: {},
  });
}

function extensionsOf(o: KubeconfigOptions): { name: string; extension: unknown }[] {
  return [
    ...(o.nats ? [{ name: NATS_EXTENSION, extension: o.nats }] : []),
    ...(o.servers && o.servers.length > 1 ? [{ name: SERVERS_EXTENSION, extension: { api: o.servers } }] : []),
  ];
}

export function writeKubeconfig(path: string, o: KubeconfigOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, kubeconfigYaml(o), { mode: 0o600 });
}
