/**
 * What the signed-in user may do, asked of the api-server with SelfSubjectAccessReview (what
 * `kubectl auth can-i` sends) and kept per question. The dashboard shows an action only once the
 * answer is "allowed"; the API still checks every request, so a hidden button is a courtesy and
 * never the protection. Answers are forgotten when the token changes and asked again after
 * `ttlMs`, so a new RoleBinding shows up without a reload. Pure apart from the injected `ask`
 * and clock (lib/can.ts wires them to the page).
 *
 * @example
 *   const access = new AccessCache((q) => postReview(q));
 *   access.can({ verb: "delete", resource: "pods", namespace: "default" }); // undefined (asking), later true / false
 */

/** One question: a verb on a resource (optionally a subresource, a namespace, a name). */
export interface Ask {
  verb: string;
  resource: string;
  /** API group ("" = core). */
  group?: string;
  subresource?: string;
  /** "" or absent: every namespace (cluster-wide). */
  namespace?: string;
  name?: string;
}

export const keyOf = (a: Ask): string => [a.verb, a.group ?? "", a.resource, a.subresource ?? "", a.namespace ?? "", a.name ?? ""].join("|");

/** The SelfSubjectAccessReview the api-server answers for one question. */
export function reviewBody(a: Ask): object {
  const attrs: Record<string, string> = { verb: a.verb, group: a.group ?? "", resource: a.resource };
  if (a.subresource) attrs.subresource = a.subresource;
  if (a.namespace) attrs.namespace = a.namespace;
  if (a.name) attrs.name = a.name;
  return { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: attrs } };
}

/** The `allowed` of an answered review (anything else is "no"). */
export function allowedOf(answer: unknown): boolean {
  const status = (answer as { status?: { allowed?: unknown } } | null)?.status;
  return status?.allowed === true;
}

/** The questions behind the dashboard's actions, in one place. */
export const Asks = {
  deletePod: (namespace: string): Ask => ({ verb: "delete", resource: "pods", namespace }),
  scaleDeployment: (namespace: string): Ask => ({ verb: "patch", group: "apps", resource: "deployments", subresource: "scale", namespace }),
  cordon: (): Ask => ({ verb: "patch", resource: "nodes" }),
  podLogs: (namespace: string): Ask => ({ verb: "get", resource: "pods", subresource: "log", namespace }),
  listSecrets: (namespace: string): Ask => ({ verb: "list", resource: "secrets", namespace }),
  readSecret: (namespace: string, name: string): Ask => ({ verb: "get", resource: "secrets", namespace, name }),
} as const;

type Listener = () => void;

export class AccessCache {
  private answers = new Map<string, { allowed: boolean; at: number }>();
  private asking = new Set<string>();
  private listeners = new Set<Listener>();
  /** Bumped by `reset`: an answer to a question asked before it is dropped. */
  private epoch = 0;

  constructor(
    private readonly ask: (a: Ask) => Promise<boolean>,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = 60_000,
  ) {}

  /** true / false once known (a stale answer is kept while it is asked again); undefined while the first answer is awaited. */
  can(a: Ask): boolean | undefined {
    const key = keyOf(a);
    const known = this.answers.get(key);
    if (!known || this.now() - known.at > this.ttlMs) this.start(key, a);
    return known?.allowed;
  }

  /** Forgets every answer (another token signed in, or none). */
  reset(): void {
    this.epoch++;
    this.answers.clear();
    this.asking.clear();
    this.emit();
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private start(key: string, a: Ask): void {
    if (this.asking.has(key)) return;
    this.asking.add(key);
    const epoch = this.epoch;
    // A failed question counts as "no" for now and is asked again after the ttl.
    const settle = (allowed: boolean) => {
      if (epoch !== this.epoch) return;
      this.asking.delete(key);
      const before = this.answers.get(key)?.allowed;
      this.answers.set(key, { allowed, at: this.now() });
      if (before !== allowed) this.emit();
    };
    this.ask(a).then(settle, () => settle(false));
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
