/**
 * StatefulSet pod identity: `<set>-<ordinal>` names, the pod-name and pod-index labels, hostname and
 * subdomain (per-pod DNS through the governing headless Service), and the revision label.
 */
import type { Pod, PodTemplateSpec, StatefulSet } from "../../bus/resources.ts";
import { ownerReference, REVISION_HASH_LABEL } from "../workloads/revisions.ts";
import { withClaimVolumes } from "./claims.ts";

export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

/** `web-2` → { parent: "web", ordinal: 2 }; -1 when the name has no ordinal. */
export function parentAndOrdinal(name: string): { parent: string; ordinal: number } {
  const m = /^(.*)-([0-9]+)$/.exec(name);
  if (!m) return { parent: "", ordinal: -1 };
  const ordinal = Number(m[2]);
  return Number.isSafeInteger(ordinal) ? { parent: m[1]!, ordinal } : { parent: "", ordinal: -1 };
}

export const startOrdinal = (s: StatefulSet): number => s.spec.ordinals?.start ?? 0;
export const replicasOf = (s: StatefulSet): number => s.spec.replicas ?? 1;
export const podName = (s: StatefulSet, ordinal: number): string => `${s.metadata.name}-${ordinal}`;
export const isMember = (s: StatefulSet, p: Pod): boolean => parentAndOrdinal(p.metadata.name ?? "").parent === s.metadata.name;
export const ordinalOf = (p: Pod): number => parentAndOrdinal(p.metadata.name ?? "").ordinal;
export const revisionOf = (p: Pod): string => p.metadata.labels?.[REVISION_HASH_LABEL] ?? "";

/** newStatefulSetPod: the template at one revision, with the ordinal's identity and its claims' volumes. */
export function statefulPod(set: StatefulSet, template: PodTemplateSpec, revision: string, ordinal: number): Pod {
  const name = podName(set, ordinal);
  const spec = withClaimVolumes(structuredClone(template.spec), set, ordinal);
  spec.hostname = name;
  if (set.spec.serviceName) spec.subdomain = set.spec.serviceName;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal), [REVISION_HASH_LABEL]: revision },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [ownerReference({ ...set, template })],
    },
    spec,
  };
}
