/**
 * Bearer-token authentication from a kube-apiserver style token file
 * (`token,user,uid,"group1,group2"`), and authorization of each request by RBAC
 * (rbac/authorizer.ts). The token file's two groups are bound by default bindings
 * (rbac/bootstrap-policy.ts): `system:masters` may do everything, `flotilla:view` has the `view`
 * ClusterRole everywhere. Pure apart from `loadTokenFile`.
 */
import type { ResourceRoute, Verb } from "./routes.ts";
import type { Attributes, RbacView } from "./rbac/authorizer.ts";
import { readFileSync } from "node:fs";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { resourceType } from "../../bus/kinds.ts";
import { qualifiedResource } from "./status.ts";
import { AUTHENTICATED_GROUP, MASTERS_GROUP, authorize as rbacAuthorize } from "./rbac/authorizer.ts";

export const Group = { admin: MASTERS_GROUP, view: "flotilla:view" } as const;

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
export function authenticate(users: Map<string, User>, authorization: string | undefined, tokens?: (token: string) => User | undefined): User {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  const user = m ? (users.get(m[1]!) ?? tokens?.(m[1]!)) : undefined;
  if (!user) throw new FlotillaError(ErrorCode.Unauthorized, "Unauthorized");
  return withAuthenticated(user);
}

/**
 * The user a verified client certificate names (kube-apiserver's x509 authenticator): the
 * subject's CN is the user name, each O a group. Undefined without a CN.
 */
export function userFromCertificate(subject: { CN?: string | string[]; O?: string | string[] } | undefined): User | undefined {
  const cn = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
  if (!cn) return undefined;
  const o = subject?.O;
  return withAuthenticated({ name: cn, uid: "", groups: o === undefined ? [] : Array.isArray(o) ? [...o] : [o] });
}

/** Every authenticated user is in `system:authenticated`, as kube-apiserver's authenticators add it. */
export function withAuthenticated(user: User): User {
  return user.groups.includes(AUTHENTICATED_GROUP) ? user : { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

/** The authorizer's attributes of a resource request. */
export function attributesOf(user: User, route: Pick<ResourceRoute, "rt" | "namespace" | "name" | "subresource" | "verb">): Attributes {
  const resource: Attributes["resource"] = { group: route.rt.group, resource: route.rt.resource };
  if (route.namespace !== undefined) resource.namespace = route.namespace;
  if (route.subresource !== undefined) resource.subresource = route.subresource;
  if (route.name !== undefined) resource.name = route.name;
  return { user, verb: route.verb, resource };
}

/** Whether RBAC lets the user do this verb on a resource (the dashboard's and whoami's question). */
export function allowed(view: RbacView, user: User, verb: string, resource: string, namespace?: string): boolean {
  const rt = resourceType(resource);
  if (!rt) return false;
  return rbacAuthorize(view, attributesOf(user, { rt, verb: verb as Verb, ...(namespace !== undefined && rt.namespaced ? { namespace } : {}) })).allowed;
}

/** Kubernetes' Forbidden message for a resource request. */
export function forbiddenMessage(user: User, route: Pick<ResourceRoute, "rt" | "namespace" | "name" | "subresource" | "verb">): string {
  const what = route.name !== undefined ? `${qualifiedResource(route.rt)} "${route.name}"` : qualifiedResource(route.rt);
  const res = route.subresource ? `${route.rt.resource}/${route.subresource}` : route.rt.resource;
  const scope = route.namespace !== undefined ? `in the namespace "${route.namespace}"` : "at the cluster scope";
  return `${what} is forbidden: User "${user.name}" cannot ${route.verb} resource "${res}" in API group "${route.rt.group}" ${scope}`;
}

/** Throws Forbidden (with Kubernetes' message and details) unless RBAC lets the user do this. */
export function authorize(view: RbacView, user: User, route: ResourceRoute): void {
  if (rbacAuthorize(view, attributesOf(user, route)).allowed) return;
  const details = { kind: route.rt.resource, ...(route.name !== undefined ? { name: route.name } : {}), ...(route.rt.group ? { group: route.rt.group } : {}) };
  throw new FlotillaError(ErrorCode.Forbidden, forbiddenMessage(user, route), { details });
}

/** Throws Forbidden unless RBAC lets the user `get` a non-resource URL (discovery, OpenAPI, …). */
export function authorizePath(view: RbacView, user: User, path: string, verb = "get"): void {
  if (rbacAuthorize(view, { user, verb, path }).allowed) return;
  throw new FlotillaError(ErrorCode.Forbidden, `forbidden: User "${user.name}" cannot ${verb} path "${path}"`);
}
