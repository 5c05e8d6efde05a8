/**
 * Bearer-token authentication from a kube-apiserver style token file
 * (`token,user,uid,"group1,group2"`) and the two built-in roles: `system:masters` may do
 * everything, `flotilla:view` may only get/list/watch. Pure apart from `loadTokenFile`.
 */
import type { ResourceRoute } from "./routes.ts";
import { readFileSync } from "node:fs";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { READ_VERBS } from "./routes.ts";
import { qualifiedResource } from "./status.ts";

export const Group = { admin: "system:masters", view: "flotilla:view" } as const;

export interface User {
  name: string;
  uid: string;
  groups: string[];
}

/** Splits one CSV line, honouring double quotes (`""` is an escaped quote). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/** token → user. Blank lines and `#` comments are skipped; a line needs at least token,user,uid. */
export function parseTokenFile(text: string): Map<string, User> {
  const users = new Map<string, User>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [token, name, uid, groups] = splitCsvLine(line);
    if (!token || !name || uid === undefined) continue;
    const gs = (groups ?? "").split(",").map((g) => g.trim()).filter((g) => g !== "");
    users.set(token, { name, uid, groups: gs });
  }
  return users;
}

export function loadTokenFile(path: string): Map<string, User> {
  return parseTokenFile(readFileSync(path, "utf8"));
}

/** The user an `Authorization` header names. Throws Unauthorized without a valid bearer token. */
export function authenticate(users: Map<string, User>, authorization: string | undefined): User {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  const user = m ? users.get(m[1]!) : undefined;
  if (!user) throw new FlotillaError(ErrorCode.Unauthorized, "Unauthorized");
  return user;
}

/** Whether the user's groups allow a verb. */
export function allowed(user: User, verb: string): boolean {
  if (user.groups.includes(Group.admin)) return true;
  if (user.groups.includes(Group.view)) return (READ_VERBS as readonly string[]).includes(verb);
  return false;
}

/** Kubernetes' Forbidden message for a resource request. */
export function forbiddenMessage(user: User, route: Pick<ResourceRoute, "rt" | "namespace" | "name" | "subresource" | "verb">): string {
  const what = route.name !== undefined ? `${qualifiedResource(route.rt)} "${route.name}"` : qualifiedResource(route.rt);
  const res = route.subresource ? `${route.rt.resource}/${route.subresource}` : route.rt.resource;
  const scope = route.namespace !== undefined ? `in the namespace "${route.namespace}"` : "at the cluster scope";
  return `${what} is forbidden: User "${user.name}" cannot ${route.verb} resource "${res}" in API group "${route.rt.group}" ${scope}`;
}

/** Throws Forbidden (with Kubernetes' message and details) unless the user may do this. */
export function authorize(user: User, route: ResourceRoute): void {
  if (allowed(user, route.verb)) return;
  const details = { kind: route.rt.resource, ...(route.name !== undefined ? { name: route.name } : {}), ...(route.rt.group ? { group: route.rt.group } : {}) };
  throw new FlotillaError(ErrorCode.Forbidden, forbiddenMessage(user, route), { details });
}
