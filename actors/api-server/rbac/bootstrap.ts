/**
 * Writes the default ClusterRoles and ClusterRoleBindings (bootstrap-policy.ts) at start, as
 * kube-apiserver's `rbac/bootstrap-roles` post-start hook does. Idempotent, and safe with several
 * api-servers starting at once: a missing object is created; an existing one is brought back to
 * the default when it is annotated `rbac.authorization.kubernetes.io/autoupdate: "true"` and
 * differs (an aggregated role keeps the rules its controller filled in).
 */
import type { StoreClient } from "../../../bus/store-client.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Logger } from "../../../runtime/logger.ts";
import { ErrorCode, isCode } from "../../../bus/errors.ts";
import { AUTOUPDATE_ANNOTATION, DEFAULT_CLUSTER_ROLES, DEFAULT_CLUSTER_ROLE_BINDINGS } from "./bootstrap-policy.ts";

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The fields of a default object that autoupdate restores. */
function policyFields(o: KubeObject): Record<string, unknown> {
  if (o.kind === "ClusterRoleBinding") return { roleRef: o.roleRef, subjects: o.subjects };
  return o.aggregationRule ? { aggregationRule: o.aggregationRule } : { rules: o.rules };
}

async function ensure(store: StoreClient, resource: string, want: KubeObject): Promise<void> {
  try {
    await store.create(resource, undefined, want);
    return;
  } catch (e) {
    if (!isCode(e, ErrorCode.AlreadyExists)) throw e;
  }
  const have = await store.get(resource, undefined, want.metadata.name!);
  if (have.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === "false") return;
  const fields = policyFields(want);
  if (Object.entries(fields).every(([k, v]) => same(have[k], v))) return;
  await store.update(resource, { ...have, ...fields });
}

export async function bootstrapPolicy(store: StoreClient, log: Logger): Promise<void> {
  for (const r of DEFAULT_CLUSTER_ROLES) await ensure(store, "clusterroles", r);
  for (const b of DEFAULT_CLUSTER_ROLE_BINDINGS) await ensure(store, "clusterrolebindings", b);
  log.debug("default RBAC policy in place", { clusterRoles: DEFAULT_CLUSTER_ROLES.length, bindings: DEFAULT_CLUSTER_ROLE_BINDINGS.length });
}
