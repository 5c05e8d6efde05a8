/** The authorizer's view (authorizer.ts `RbacView`) over the api-server's watch caches of the four RBAC kinds. */
import type { ClusterRole, ClusterRoleBinding, KubeObject, Role, RoleBinding } from "../../../bus/resources.ts";
import type { WatchCache } from "../watch-cache.ts";
import type { RbacView } from "./authorizer.ts";

function* inNamespace<T>(objects: Map<string, KubeObject>, namespace: string): Generator<T> {
  for (const o of objects.values()) if (o.metadata.namespace === namespace) yield o as unknown as T;
}

export function cacheView(cacheFor: (resource: string) => WatchCache | undefined): RbacView {
  const objects = (r: string) => cacheFor(r)?.objects ?? new Map<string, KubeObject>();
  return {
    role: (ns, name) => objects("roles").get(`${ns}/${name}`) as Role | undefined,
    clusterRole: (name) => objects("clusterroles").get(`/${name}`) as ClusterRole | undefined,
    roleBindings: (ns) => inNamespace<RoleBinding>(objects("rolebindings"), ns),
    clusterRoleBindings: () => objects("clusterrolebindings").values() as Iterable<ClusterRoleBinding>,
  };
}
