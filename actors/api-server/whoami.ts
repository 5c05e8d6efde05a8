/**
 * `GET /flotilla/v1/whoami`: who the bearer token is and whether it may write. The dashboard checks
 * a token with it at sign-in; which actions it shows it asks per action with SelfSubjectAccessReview
 * (ui/src/lib/access.ts). Pure.
 */
import type { User } from "./auth.ts";
import type { RbacView } from "./rbac/authorizer.ts";
import { allowed } from "./auth.ts";
import { Verb } from "./routes.ts";

export interface WhoAmI {
  user: string;
  groups: string[];
  /** May create, patch and delete (the dashboard's actions); the API still checks every request. */
  canWrite: boolean;
}

/** `canWrite`: RBAC lets the user create, patch and delete Deployments and pods in `default`. */
export function whoami(view: RbacView, user: User): WhoAmI {
  const canWrite = [Verb.create, Verb.patch, Verb.delete].every((v) => ["deployments", "pods"].every((r) => allowed(view, user, v, r, "default")));
  return { user: user.name, groups: [...user.groups], canWrite };
}
