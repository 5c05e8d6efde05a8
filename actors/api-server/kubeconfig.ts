/**
 * A kubeconfig for kubectl and client libraries: the cluster's CA, the api-server URL and a token.
 *
 * @example
 *   writeKubeconfig(join(home, ".kube/config"), { server: "https://127.0.0.1:6443", caPem, token });
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { stringify } from "yaml";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  token: string;
  /** Names the cluster, user and context (default "flotilla"). */
  name?: string;
}

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const name = o.name ?? "flotilla";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server: o.server, "certificate-authority-data": Buffer.from(o.caPem).toString("base64") } }],
    users: [{ name, user: { token: o.token } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: "default" } }],
    "current-context": name,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, o: KubeconfigOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, kubeconfigYaml(o), { mode: 0o600 });
}
