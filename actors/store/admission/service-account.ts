/**
 * Kubernetes' ServiceAccount admission plugin, on pod create: `spec.serviceAccountName` defaults
 * to `default`, and unless `automountServiceAccountToken: false` the pod gets the projected volume
 * `kube-api-access-<suffix>` (a bound token refreshed by the kubelet, the cluster CA from the
 * ConfigMap `kube-root-ca.crt`, the namespace) mounted read-only at
 * `/var/run/secrets/kubernetes.io/serviceaccount` in every container that has nothing there yet.
 */
import type { Rec } from "./field.ts";
import { arr, isRec } from "./field.ts";

export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const API_ACCESS_VOLUME_PREFIX = "kube-api-access-";
/** Kubernetes' default: an hour and 7 seconds, so that the token's lifetime is recognisably the kubelet's. */
export const TOKEN_EXPIRATION_SECONDS = 3607;

export function apiAccessVolume(name: string): Rec {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: "token" } },
        // Optional here (required in Kubernetes): a pod created in a namespace the publisher has not reached yet still starts, and gets ca.crt at the next volume refresh.
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }], optional: true } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
      ],
    },
  };
}

/** Mutates a pod spec being created; `suffix` names the volume (5 characters, as Kubernetes' random suffix). */
export function admitServiceAccount(spec: Rec, suffix: string): void {
  if (typeof spec.serviceAccountName !== "string" || spec.serviceAccountName === "") {
    spec.serviceAccountName = typeof spec.serviceAccount === "string" && spec.serviceAccount !== "" ? spec.serviceAccount : "default";
  }
  if (spec.automountServiceAccountToken === false) return;
  const containers = [...arr(spec.initContainers), ...arr(spec.containers)].filter(isRec);
  const needs = containers.filter((c) => !arr(c.volumeMounts).some((m) => isRec(m) && m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH));
  if (needs.length === 0) return;
  const volumes = arr(spec.volumes);
  const existing = volumes.find((v) => isRec(v) && typeof v.name === "string" && v.name.startsWith(API_ACCESS_VOLUME_PREFIX)) as Rec | undefined;
  const name = (existing?.name as string | undefined) ?? `${API_ACCESS_VOLUME_PREFIX}${suffix}`;
  if (!existing) spec.volumes = [...volumes, apiAccessVolume(name)];
  for (const c of needs) c.volumeMounts = [...arr(c.volumeMounts), { name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }];
}
