/**
 * The securityContext fields that decide who a container runs as, merged as Kubernetes'
 * `DetermineEffectiveSecurityContext` does (the container's own fields win over the pod's), and
 * the kubelet's `runAsNonRoot` check with Kubernetes' error text (→ CreateContainerConfigError).
 * Pure: no I/O.
 *
 * @example
 *   const req = runAsRequest(pod, pod.spec.containers[0]);   // { runAsUser: 1234, supplementalGroups: [] }
 *   nonRootViolation(pod, c, req, 0);  // "container's runAsUser breaks non-root policy (pod: …)" or undefined
 */
import type { Pod, Container } from "../../bus/resources.ts";
import type { RunAs, RunAsRequest } from "./engines/types.ts";

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);
const int = (v: unknown): number | undefined => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);

/** What the pod's and the container's securityContext ask for; the container's fields win. */
export function runAsRequest(pod: Pod, c: Container): RunAsRequest {
  const p = isRec(pod.spec.securityContext) ? pod.spec.securityContext : {};
  const own = (c as { securityContext?: unknown }).securityContext;
  const cs = isRec(own) ? own : {};
  const pick = <T>(k: string, f: (v: unknown) => T | undefined): T | undefined => f(cs[k]) ?? f(p[k]);
  const groups = Array.isArray(p.supplementalGroups) ? p.supplementalGroups.flatMap((g) => (int(g) === undefined ? [] : [g as number])) : [];
  const req: RunAsRequest = { supplementalGroups: groups };
  const runAsUser = pick("runAsUser", int);
  const runAsGroup = pick("runAsGroup", int);
  const runAsNonRoot = pick("runAsNonRoot", bool);
  const fsGroup = int(p.fsGroup);
  const allowPrivilegeEscalation = bool(cs.allowPrivilegeEscalation);
  if (runAsUser !== undefined) req.runAsUser = runAsUser;
  if (runAsGroup !== undefined) req.runAsGroup = runAsGroup;
  if (runAsNonRoot !== undefined) req.runAsNonRoot = runAsNonRoot;
  if (fsGroup !== undefined) req.fsGroup = fsGroup;
  if (allowPrivilegeEscalation !== undefined) req.allowPrivilegeEscalation = allowPrivilegeEscalation;
  return req;
}

/** Kubernetes' `format.Pod`: `name_namespace(uid)`. */
const formatPod = (pod: Pod) => `${pod.metadata.name}_${pod.metadata.namespace ?? "default"}(${pod.metadata.uid ?? ""})`;

/**
 * Kubernetes' `verifyRunAsNonRoot`: with `runAsNonRoot: true`, an explicit `runAsUser: 0` is
 * refused, and so is a container that would run as root by default (`defaultUid` 0). An unknown
 * default user (`undefined`: the image decides) passes.
 */
export function nonRootViolation(pod: Pod, c: Container, req: RunAsRequest, defaultUid: number | undefined): string | undefined {
  if (req.runAsNonRoot !== true) return undefined;
  const q = JSON.stringify(formatPod(pod));
  if (req.runAsUser !== undefined) return req.runAsUser === 0 ? `container's runAsUser breaks non-root policy (pod: ${q}, container: ${c.name})` : undefined;
  return defaultUid === 0 ? `container has runAsNonRoot and image will run as root (pod: ${q}, container: ${c.name})` : undefined;
}

/**
 * The user that owns a pod's volume files (Kubernetes' FsUser): the one uid every container of
 * the pod runs as, when there is exactly one; undefined otherwise.
 */
export function podFsUser(users: readonly (RunAs | undefined)[]): number | undefined {
  const uids = new Set(users.map((u) => u?.uid));
  if (uids.size !== 1) return undefined;
  const [uid] = [...uids];
  return uid;
}
