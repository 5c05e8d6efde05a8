/**
 * Failures the fuzzer knows about whose fix belongs to work in progress elsewhere (the api-server's
 * HTTP input path). Each is still sent a few times per run, so the run shows whether it still
 * happens, and reported apart from new failures. Delete an entry once its fix has landed: the
 * fuzzer says so when an entry no longer reproduces.
 */
import type { HttpCase } from "./http.ts";

export interface KnownIssue {
  id: string;
  what: string;
  /** Requests that would hit it (checked before sending). */
  matches(c: HttpCase): boolean;
  /** How many matching requests a run still sends. */
  budget: number;
  /** A contained fault (its error text) this issue causes, if it kills an actor. */
  fault?: RegExp;
}

const malformedPercent = (s: string) => {
  try {
    decodeURIComponent(s);
    return false;
  } catch {
    return true;
  }
};

/** Node's HTTP parser knows these; any other method is refused before the api-server sees it. */
const PARSED_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);

export const KNOWN_OPEN: readonly KnownIssue[] = [
  {
    id: "unknown-method",
    what: "a request with a method Node's parser does not know (`BREW /`) is answered 400 with an empty body, not a Kubernetes Status (server.ts has no clientError handler)",
    matches: (c) => !PARSED_METHODS.has(c.method),
    budget: 3,
  },
  {
    id: "path-percent-encoding",
    what: "a path segment with malformed percent-encoding (`/api/v1/%`) throws URIError in routes.ts parseRoute, outside any error boundary: the api-server dies (contained and restarted)",
    matches: (c) => c.raw && c.segments.some((s) => /%/.test(s) && malformedPercent(s)),
    budget: 2,
    fault: /URIError[\s\S]*parseRoute/,
  },
  {
    id: "dot-segments",
    what: "a name of `.` or `..` (or `%2e%2e`) is resolved away by `new URL()` in server.ts before routing: `DELETE /api/v1/namespaces/x/secrets/..` deletes the Namespace x, `GET …/endpoints/.` lists",
    matches: (c) => c.segments.some((s) => /^(\.|%2e){1,2}$/i.test(s)),
    budget: 10,
  },
  {
    id: "object-apiVersion",
    what: "a body whose apiVersion or kind is an object with a non-callable toString (`{\"apiVersion\":{\"toString\":{}}}`) makes handlers.ts objectForRoute throw a TypeError building its message: 500 InternalError",
    matches: (c) => c.body?.type === "object" && c.body.mutations.some((m) => (m.path[0] === "apiVersion" || m.path[0] === "kind") && (m.path.length > 1 || (typeof m.value === "object" && m.value !== null))),
    budget: 3,
  },
  {
    id: "get-binding",
    what: "GET on the create-only subresources pods/<name>/binding and pods/<name>/eviction answers the Pod itself (Kubernetes: 405 MethodNotAllowed), routes.ts verbFor",
    matches: (c) => c.method === "GET" && !c.intent.watch && (c.intent.subresource === "binding" || c.intent.subresource === "eviction"),
    budget: 3,
  },
];
