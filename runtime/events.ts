/**
 * Kubernetes Event objects: the one builder every actor uses (kubelet, scheduler, controllers,
 * node controller), and a best-effort recorder. Events never block the work they describe.
 */
import type { Event, ObjectReference } from "../bus/resources.ts";
import type { StoreClient } from "../bus/store-client.ts";
import { randomBytes } from "node:crypto";
import { rfc3339 as iso } from "../bus/time.ts";

export interface EventSource {
  component: string;
  /** The reporting instance (node name for a kubelet, host for the control plane). */
  host?: string;
}

export interface EventInit {
  involved: ObjectReference;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  source: EventSource;
  first?: Date;
  last?: Date;
  count?: number;
  name?: string;
}


/** `<involved name>.<16 hex>` like Kubernetes' event names. */
export function eventName(involvedName: string): string {
  return `${involvedName}.${randomBytes(8).toString("hex")}`;
}

export function buildEvent(e: EventInit, now: Date = new Date()): Event {
  const ns = e.involved.namespace || "default";
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: e.name ?? eventName(e.involved.name ?? "object"), namespace: ns },
    involvedObject: e.involved,
    reason: e.reason,
    message: e.message,
    type: e.type,
    source: e.source.host ? { component: e.source.component, host: e.source.host } : { component: e.source.component },
    reportingComponent: e.source.component,
    reportingInstance: e.source.host ?? e.source.component,
    firstTimestamp: iso(e.first ?? now),
    lastTimestamp: iso(e.last ?? now),
    eventTime: null,
    count: e.count ?? 1,
  };
}

/** Writes an Event; failures are swallowed (events are best effort) and reported to `onError`. */
export async function recordEvent(store: StoreClient, e: EventInit, onError?: (err: Error) => void): Promise<void> {
  const ev = buildEvent(e);
  await store.create("events", ev.metadata.namespace, ev).then(
    () => undefined,
    (err: Error) => onError?.(err),
  );
}
