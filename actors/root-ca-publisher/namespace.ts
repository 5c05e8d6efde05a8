/**
 * Kubernetes' root CA publisher, the pure step: every namespace holds the ConfigMap
 * `kube-root-ca.crt` whose `ca.crt` is the cluster CA, so pods can trust the api-server.
 * The example docs/architecture.md walks through ("How to write a controller").
 */
import type { ConfigMap, Namespace } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";

export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";

export type CaCommand = { type: "configmap.create"; configMap: ConfigMap } | { type: "configmap.update"; configMap: ConfigMap };

/** What one namespace key needs: the namespace, its ConfigMap (if any) and the CA to publish. */
export interface CaView {
  namespace?: Namespace;
  configMap?: ConfigMap;
  caCert: string;
}

export function reconcile(_key: string, v: CaView): Decision<CaCommand> {
  if (!v.namespace || v.namespace.metadata.deletionTimestamp) return { commands: [] };
  const data = { "ca.crt": v.caCert };
  if (!v.configMap) {
    const configMap: ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: ROOT_CA_CONFIGMAP, namespace: v.namespace.metadata.name }, data };
    return { commands: [{ type: "configmap.create", configMap }] };
  }
  if (v.configMap.data?.["ca.crt"] === v.caCert) return { commands: [] };
  // A copy: objects from the cache are shared and never mutated.
  return { commands: [{ type: "configmap.update", configMap: { ...v.configMap, data: { ...v.configMap.data, ...data } } }] };
}
