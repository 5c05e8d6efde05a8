/**
 * What a chaos run records: every write it sent with what came back, and every event its watches
 * delivered. The checker (checker.ts) decides from these alone whether anything was lost, invented
 * or delivered out of order.
 */

/** acked: 2xx. refused: an answer that says nothing changed (409, 422, 429, 404). ambiguous: no answer, or 5xx. */
export type Outcome = "acked" | "refused" | "ambiguous";

export interface WriteRecord {
  id: number;
  kind: "create" | "update" | "delete";
  /** `<namespace>/<name>` */
  key: string;
  /** The value the write carries (data.m), so an event can be traced back to the write that made it. */
  marker: string;
  /** The resourceVersion the write was conditional on (update, delete). */
  baseRv?: string;
  /** The resourceVersion the answer carried (acked create, update). */
  rv?: string;
  outcome: Outcome;
  status: number;
  /** The Status message of a non-2xx answer, or the client's error. */
  message?: string;
  server: string;
  sentAt: number;
  doneAt: number;
}

/**
 * A read the churn made to learn a key's revision after an ambiguous write. Not checked: kept to
 * show what each server answered while writes waited (a fault's "writes after" time).
 */
export interface ReadRecord {
  key: string;
  server: string;
  /** 0: no answer (the client's error is in `message`). */
  status: number;
  message?: string;
  sentAt: number;
  doneAt: number;
}

/** One watch event, or the items of a (re)list that began a watch. */
export interface EventRecord {
  /** Which watch stream (a new number after every re-list). */
  stream: number;
  type: "ADDED" | "MODIFIED" | "DELETED" | "LISTED";
  key: string;
  rv: string;
  marker?: string;
  at: number;
}

/** How a watch stream ended: resumed from its last revision, or restarted with a list (410 Expired). */
export interface StreamRecord {
  stream: number;
  server: string;
  fromRv: string;
  startedAt: number;
  endedAt?: number;
  end?: "resumed" | "expired" | "stopped";
}

export interface FinalObject {
  key: string;
  rv: string;
  marker?: string;
}

export interface History {
  writes: WriteRecord[];
  reads?: ReadRecord[];
  events: EventRecord[];
  streams: StreamRecord[];
  /** Every object of the chaos namespace, read once the run has settled. */
  final: FinalObject[];
}

export interface Violation {
  check: string;
  message: string;
}
