/** The scale subresource (autoscaling/v1 Scale) of Deployments, ReplicaSets and RCs. */
import type { KubeObject, Scale, LabelSelector, Labels } from "./resources.ts";
import { selectorToString } from "./selectors.ts";


export function toScale(o: KubeObject): Scale {
  const spec = (o.spec ?? {}) as { replicas?: number; selector?: LabelSelector | Labels };
  const status = (o.status ?? {}) as { replicas?: number };
  return {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: selectorToString(spec.selector) },
  };
}

/** Applies a Scale's spec.replicas to its object. */
export function fromScale(o: KubeObject, scale: { spec?: { replicas?: number } }): KubeObject {
  return { ...o, spec: { ...(o.spec as object), replicas: scale.spec?.replicas ?? 0 } };
}
