/**
 * Kubernetes' ServiceAccounts controller, the pure step: every active namespace holds the
 * ServiceAccount `default` (created again when someone deletes it).
 */
import type { Namespace, ServiceAccount } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";

export const DEFAULT_SERVICE_ACCOUNT = "default";

export type AccountCommand = { type: "serviceaccount.create"; serviceAccount: ServiceAccount };

export interface AccountView {
  namespace?: Namespace;
  serviceAccount?: ServiceAccount;
}

export function reconcile(_key: string, v: AccountView): Decision<AccountCommand> {
  if (!v.namespace || v.namespace.metadata.deletionTimestamp || v.serviceAccount) return { commands: [] };
  const serviceAccount: ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: v.namespace.metadata.name } };
  return { commands: [{ type: "serviceaccount.create", serviceAccount }] };
}
