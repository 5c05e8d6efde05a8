/**
 * `GET /flotilla/v1/whoami`: who the bearer token is and whether it may write — what the dashboard
 * needs to decide whether to show action buttons (the api-server has no SelfSubjectAccessReview).
 * Pure.
 */
import type { User } from "./auth.ts";
import { allowed } from "./auth.ts";
import { Verb } from "./routes.ts";

export interface WhoAmI {
  user: string;
  groups: string[];
  /** May create, patch and delete (the dashboard's actions); the API still checks every request. */
  canWrite: boolean;
}

export function whoami(user: User): WhoAmI {
  const canWrite = [Verb.create, Verb.patch, Verb.delete].every((v) => allowed(user, v));
  return { user: user.name, groups: [...user.groups], canWrite };
}
