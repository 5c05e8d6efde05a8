/**
 * The audit log: one JSON line per request (`audit.k8s.io/v1` Event at stage ResponseComplete:
 * user, verb, resource, namespace, name, response code), as kube-apiserver's log backend writes
 * it. Which requests are logged follows a policy in the shape of Kubernetes' audit Policy: the
 * first rule that matches gives the level; `None` drops the request, any other level logs its
 * metadata. Request and response bodies are never logged (Secrets, TokenReviews and
 * TokenRequests carry secrets), and neither are headers, so bearer tokens never reach the file.
 *
 * @example
 *   const audit = openAuditLog({ path: join(dataDir, "audit.log"), policy: parseAuditPolicy(text) });
 *   audit.record({ user, verb: "get", objectRef: { resource: "pods", namespace: "ns", name: "p" }, code: 200, … });
 */
import type { WriteStream } from "node:fs";
import { closeSync, createWriteStream, chmodSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { randomUUID } from "node:crypto";
import { parse } from "yaml";

export const AuditLevel = { None: "None", Metadata: "Metadata", Request: "Request", RequestResponse: "RequestResponse" } as const;
export type AuditLevel = (typeof AuditLevel)[keyof typeof AuditLevel];

export interface AuditRule {
  level: AuditLevel;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: { group?: string; resources?: string[] }[];
  namespaces?: string[];
  nonResourceURLs?: string[];
}

export interface AuditPolicy {
  rules: AuditRule[];
}

/** Every request at Metadata, except health checks and the watch of Events (noisy, nothing to learn). */
export const DEFAULT_AUDIT_POLICY: AuditPolicy = {
  rules: [
    { level: "None", nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"] },
    { level: "Metadata" },
  ],
};

export function parseAuditPolicy(text: string): AuditPolicy {
  const p = parse(text) as { kind?: string; rules?: AuditRule[] } | null;
  if (!p || p.kind !== "Policy" || !Array.isArray(p.rules)) throw new Error("audit policy: kind must be Policy with a list of rules");
  for (const r of p.rules) if (!Object.values(AuditLevel).includes(r.level)) throw new Error(`audit policy: unknown level ${JSON.stringify(r.level)}`);
  return { rules: p.rules };
}

export interface AuditRequest {
  user?: { name: string; groups: string[] };
  verb: string;
  requestURI: string;
  sourceIP?: string;
  userAgent?: string;
  objectRef?: { resource: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string };
  code: number;
  receivedAt: Date;
  completedAt: Date;
}

const matchPath = (pattern: string, path: string) => (pattern.endsWith("*") ? path.startsWith(pattern.slice(0, -1)) : path === pattern);

/** The level of a request under a policy (first matching rule; none: None). Pure. */
export function levelFor(policy: AuditPolicy, r: AuditRequest): AuditLevel {
  const user = r.user?.name ?? "system:anonymous";
  const groups = r.user?.groups ?? ["system:unauthenticated"];
  const path = r.requestURI.split("?")[0]!;
  for (const rule of policy.rules) {
    if (rule.users && !rule.users.includes(user)) continue;
    if (rule.userGroups && !rule.userGroups.some((g) => groups.includes(g))) continue;
    if (rule.verbs && !rule.verbs.includes(r.verb)) continue;
    if (rule.namespaces && !(r.objectRef && rule.namespaces.includes(r.objectRef.namespace ?? ""))) continue;
    if (rule.resources) {
      const o = r.objectRef;
      if (!o) continue;
      const hit = rule.resources.some((g) => (g.group ?? "") === (o.apiGroup ?? "") && (!g.resources?.length || g.resources.includes(o.resource) || (o.subresource !== undefined && g.resources.includes(`${o.resource}/${o.subresource}`))));
      if (!hit) continue;
    }
    if (rule.nonResourceURLs && (r.objectRef || !rule.nonResourceURLs.some((p) => matchPath(p, path)))) continue;
    return rule.level;
  }
  return "None";
}

/** The line written for a request at a level other than None: metadata only, whatever the level asked. */
export function auditEvent(r: AuditRequest, level: AuditLevel, auditID: string): Record<string, unknown> {
  return {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    // Bodies are never recorded: Request and RequestResponse are written as Metadata.
    level: level === "None" ? "None" : "Metadata",
    auditID,
    stage: "ResponseComplete",
    requestURI: r.requestURI,
    verb: r.verb,
    user: { username: r.user?.name ?? "system:anonymous", groups: r.user?.groups ?? ["system:unauthenticated"] },
    ...(r.sourceIP ? { sourceIPs: [r.sourceIP] } : {}),
    ...(r.userAgent ? { userAgent: r.userAgent } : {}),
    ...(r.objectRef ? { objectRef: r.objectRef } : {}),
    responseStatus: { metadata: {}, code: r.code },
    requestReceivedTimestamp: r.receivedAt.toISOString(),
    stageTimestamp: r.completedAt.toISOString(),
  };
}

export interface AuditLog {
  record(r: AuditRequest): void;
  close(): Promise<void>;
}

export function openAuditLog(o: { path: string; policy: AuditPolicy; id?: () => string }): AuditLog {
  mkdirSync(dirname(o.path), { recursive: true, mode: 0o700 });
  closeSync(openSync(o.path, "a", 0o600));
  chmodSync(o.path, 0o600);
  const out: WriteStream = createWriteStream(o.path, { flags: "a", mode: 0o600 });
  out.on("error", () => undefined);
  const id = o.id ?? randomUUID;
  return {
    record(r) {
      const level = levelFor(o.policy, r);
      if (level === "None") return;
      out.write(JSON.stringify(auditEvent(r, level, id())) + "\n");
    },
    close: () => new Promise<void>((resolve) => out.end(() => resolve())),
  };
}
