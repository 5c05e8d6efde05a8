/**
 * ReplicationController and ReplicaSet seen through one shape: the replication controller's
 * decisions never care which of the two it is looking at.
 */
import type { LabelSelector, ObjectMeta, PodTemplateSpec, ReplicaSet, ReplicaStatus, ReplicationController } from "../../bus/resources.ts";

export const ReplicaResource = {
  replicasets: "replicasets",
  replicationcontrollers: "replicationcontrollers",
} as const;
export type ReplicaResource = (typeof ReplicaResource)[keyof typeof ReplicaResource];

export interface ReplicaOwner {
  resource: ReplicaResource;
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  replicas: number;
  minReadySeconds: number;
  selector: LabelSelector;
  template: PodTemplateSpec | undefined;
  status: ReplicaStatus | undefined;
}

export function fromReplicaSet(rs: ReplicaSet): ReplicaOwner {
  return {
    resource: ReplicaResource.replicasets,
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: rs.metadata,
    replicas: rs.spec.replicas ?? 1,
    minReadySeconds: rs.spec.minReadySeconds ?? 0,
    selector: rs.spec.selector,
    template: rs.spec.template,
    status: rs.status,
  };
}

/** An RC's selector defaults to its template's labels. */
export function fromReplicationController(rc: ReplicationController): ReplicaOwner {
  const selector = rc.spec.selector ?? rc.spec.template?.metadata?.labels ?? {};
  return {
    resource: ReplicaResource.replicationcontrollers,
    apiVersion: "v1",
    kind: "ReplicationController",
    metadata: rc.metadata,
    replicas: rc.spec.replicas ?? 1,
    minReadySeconds: rc.spec.minReadySeconds ?? 0,
    selector: { matchLabels: selector },
    template: rc.spec.template,
    status: rc.status,
  };
}

/** The queue key of an owner: `<resource>/<namespace>/<name>`. */
export function ownerKey(resource: ReplicaResource, namespace: string, name: string): string {
  return `${resource}/${namespace}/${name}`;
}
export function parseOwnerKey(key: string): { resource: ReplicaResource; namespace: string; name: string } | undefined {
  const [resource, namespace, name] = key.split("/");
  if (!name || !namespace || (resource !== ReplicaResource.replicasets && resource !== ReplicaResource.replicationcontrollers)) return undefined;
  return { resource, namespace, name };
}
export function resourceOfKind(kind: string): ReplicaResource | undefined {
  return kind === "ReplicaSet" ? ReplicaResource.replicasets : kind === "ReplicationController" ? ReplicaResource.replicationcontrollers : undefined;
}
