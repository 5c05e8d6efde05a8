/**
 * The access and identity reviews, answered at once and never stored (kube-apiserver's
 * authorization.k8s.io and authentication.k8s.io registries):
 * - SelfSubjectAccessReview — may I do this? (`kubectl auth can-i`)
 * - SelfSubjectRulesReview — what may I do in a namespace? (`kubectl auth can-i --list`)
 * - SubjectAccessReview — may this user do this? (for those allowed to create it: admins)
 * - SelfSubjectReview — who am I? (`kubectl auth whoami`)
 * - TokenReview — whom does this bearer token name? (webhook token authentication, for those
 *   allowed to create it: admins, `system:auth-delegator`)
 * Pure: request object in, answer out.
 */
import type { KubeObject, PolicyRule } from "../../bus/resources.ts";
import type { Attributes, RbacView, UserInfo } from "./rbac/authorizer.ts";
import { match } from "ts-pattern";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { authorize, rulesFor } from "./rbac/authorizer.ts";

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Rec) : {});
const str = (v: unknown): string => (typeof v === "string" ? v : "");

function invalid(kind: string, group: string, field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorCode.Invalid, `${kind}.${group} "" is invalid: ${field}: ${message}`, {
    details: { kind, group, name: "", causes: [{ field, reason: "FieldValueRequired", message }] },
  });
}

/** The authorizer's attributes of a review's spec (ValidateSubjectAccessReviewSpec's one-of rule). */
function attributesOfSpec(kind: string, spec: Rec, user: UserInfo): Attributes {
  const r = spec.resourceAttributes;
  const n = spec.nonResourceAttributes;
  if (r && n) throw invalid(kind, "authorization.k8s.io", "spec.nonResourceAttributes", "Invalid value: cannot be specified in combination with resourceAttributes");
  if (n) return { user, verb: str(rec(n).verb), path: str(rec(n).path) };
  if (!r) throw invalid(kind, "authorization.k8s.io", "spec.resourceAttributes", "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified");
  const a = rec(r);
  const resource: NonNullable<Attributes["resource"]> = { group: str(a.group), resource: str(a.resource) };
  if (str(a.namespace)) resource.namespace = str(a.namespace);
  if (str(a.subresource)) resource.subresource = str(a.subresource);
  if (str(a.name)) resource.name = str(a.name);
  return { user, verb: str(a.verb), resource };
}

function accessStatus(view: RbacView, attrs: Attributes): Rec {
  const d = authorize(view, attrs);
  return d.allowed ? { allowed: true, reason: d.reason } : { allowed: false };
}

const resourceRule = (r: PolicyRule) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) });

function answer(body: KubeObject, status: Rec): KubeObject {
  return { ...body, metadata: { ...(body.metadata ?? {}), creationTimestamp: null as unknown as string }, status };
}

/** The answered review (status filled in) for a created review object. */
export function review(kind: string, body: KubeObject, view: RbacView, user: UserInfo): KubeObject {
  const spec = rec(body.spec);
  return match(kind)
    .with("SelfSubjectAccessReview", () => answer(body, accessStatus(view, attributesOfSpec(kind, spec, user))))
    .with("SubjectAccessReview", () => {
      const subject: UserInfo = { name: str(spec.user), groups: Array.isArray(spec.groups) ? spec.groups.map(str) : [], ...(str(spec.uid) ? { uid: str(spec.uid) } : {}) };
      if (!subject.name && subject.groups.length === 0) throw invalid(kind, "authorization.k8s.io", "spec.user", "Invalid value: \"\": at least one of user or group must be specified");
      return answer(body, accessStatus(view, attributesOfSpec(kind, spec, subject)));
    })
    .with("SelfSubjectRulesReview", () => {
      const namespace = str(spec.namespace) || undefined;
      const rules = rulesFor(view, user, namespace);
      return answer(body, {
        resourceRules: rules.filter((r) => !r.nonResourceURLs?.length).map(resourceRule),
        nonResourceRules: rules.filter((r) => r.nonResourceURLs?.length).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
        incomplete: false,
      });
    })
    .with("SelfSubjectReview", () => answer(body, { userInfo: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: [...user.groups] } }))
    .otherwise(() => {
      throw new FlotillaError(ErrorCode.NotFound, `the server could not find the requested resource (${kind})`);
    });
}

/** A TokenReview answered with `authenticate` (the api-server's own bearer-token authenticators). */
export function tokenReview(body: KubeObject, authenticate: (token: string) => UserInfo | undefined): KubeObject {
  const spec = rec(body.spec);
  const token = str(spec.token);
  if (!token) throw new FlotillaError(ErrorCode.Invalid, 'TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value', {
    details: { kind: "TokenReview", group: "authentication.k8s.io", name: "", causes: [{ field: "spec.token", reason: "FieldValueRequired", message: "Required value" }] },
  });
  const user = authenticate(token);
  // The token is never echoed back (Kubernetes clears spec.token in the answer).
  const answered = answer({ ...body, spec: { ...spec, token: "" } }, user
    ? { authenticated: true, user: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: [...user.groups] }, ...(Array.isArray(spec.audiences) ? { audiences: spec.audiences } : {}) }
    : { authenticated: false, user: {} });
  return answered;
}
