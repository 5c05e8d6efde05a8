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

export const KNOWN_OPEN: readonly KnownIssue[] = [];
