/**
 * Escalation prevention at the api-server: a store client for writes of Roles, ClusterRoles and
 * their bindings that refuses (Forbidden, with Kubernetes' wording) an object granting more than
 * its writer holds (escalation.ts). A patch is first applied as a dry run so the check sees the
 * object as it would be stored. Everything else passes through unchanged.
 */
import type { StoreClient } from "../../../bus/store-client.ts";
import type { StoreRequest } from "../../../bus/store-protocol.ts";
import type { ClusterRole, KubeObject, PolicyRule, RoleBinding } from "../../../bus/resources.ts";
import type { RbacView, UserInfo } from "./authorizer.ts";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";
import { RBAC_GROUP } from "../../../bus/kinds.ts";
import { authorize, rulesFor } from "./authorizer.ts";
import { formatRule, uncovered } from "./escalation.ts";

const GUARDED = ["roles", "clusterroles", "rolebindings", "clusterrolebindings"];

const groupsText = (u: UserInfo) => `[${u.groups.map((g) => JSON.stringify(g)).join(" ")}]`;

function forbidden(resource: string, name: string, text: string): FlotillaError {
  return new FlotillaError(ErrorCode.Forbidden, `${resource}.${RBAC_GROUP} "${name}" is forbidden: ${text}`, { details: { kind: resource, name, group: RBAC_GROUP } });
}

const may = (view: RbacView, user: UserInfo, verb: string, resource: string, namespace: string | undefined, name: string) =>
  authorize(view, { user, verb, resource: { group: RBAC_GROUP, resource, name, ...(namespace ? { namespace } : {}) } }).allowed;

/** Throws Forbidden when writing `o` (of `resource`, in `namespace`) would grant the user more than they hold. */
export function checkNoEscalation(view: RbacView, user: UserInfo, resource: string, namespace: string | undefined, o: KubeObject): void {
  const name = o.metadata.name ?? o.metadata.generateName ?? "";
  const notHeld = (granted: readonly PolicyRule[], scope: string | undefined) => {
    const missing = uncovered(rulesFor(view, user, scope), granted);
    if (missing.length)
      throw forbidden(resource, name, `user "${user.name}" (groups=${groupsText(user)}) is attempting to grant RBAC permissions not currently held:\n${missing.map(formatRule).join("\n")}`);
  };
  if (resource === "roles" || resource === "clusterroles") {
    if (may(view, user, "escalate", resource, namespace, name)) return;
    if ((o as ClusterRole).aggregationRule) throw forbidden(resource, name, "must have cluster-admin privileges to use the aggregationRule");
    return notHeld((o.rules as PolicyRule[] | undefined) ?? [], namespace);
  }
  const ref = (o as RoleBinding).roleRef;
  if (!ref) return; // admission answers for a missing roleRef
  const refResource = ref.kind === "Role" ? "roles" : "clusterroles";
  if (may(view, user, "bind", refResource, namespace, ref.name)) return;
  const role = ref.kind === "Role" ? (namespace ? view.role(namespace, ref.name) : undefined) : view.clusterRole(ref.name);
  if (!role) throw forbidden(resource, name, `user "${user.name}" (groups=${groupsText(user)}) may not bind ${ref.kind} "${ref.name}": it was not found`);
  notHeld(role.rules ?? [], namespace);
}

/** `store` as seen by one request of `user`: writes of RBAC objects are checked first. */
export function guardedStore(store: StoreClient, view: RbacView, user: UserInfo): StoreClient {
  const guarded = Object.create(store) as StoreClient;
  guarded.send = async <T>(req: StoreRequest, timeoutMs?: number): Promise<T> => {
    if ((req.type === "create" || req.type === "update") && GUARDED.includes(req.resource)) {
      checkNoEscalation(view, user, req.resource, req.namespace ?? (req.object.metadata?.namespace || undefined), req.object);
    } else if (req.type === "patch" && GUARDED.includes(req.resource)) {
      const preview = await store.send<KubeObject>({ ...req, dryRun: true }, timeoutMs);
      checkNoEscalation(view, user, req.resource, req.namespace, preview);
    }
    return store.send<T>(req, timeoutMs);
  };
  return guarded;
}
