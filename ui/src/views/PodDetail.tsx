/** One pod: summary, containers, conditions, its events and a following logs pane. */
import type { Event, Pod } from "../../../bus/resources.ts";
import { useState } from "preact/hooks";
import { Badge, Loading } from "../components/Status.tsx";
import { age, podReady, podRestarts, podStatus, sortEvents } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";
import { Asks } from "../lib/access.ts";
import { useAccess } from "../lib/can.ts";
import { EventTable } from "./Events.tsx";
import { LogPane } from "./LogPane.tsx";

function stateText(s: { waiting?: { reason?: string }; running?: { startedAt?: string }; terminated?: { reason?: string; exitCode: number } } | undefined): string {
  if (s?.running) return "Running";
  if (s?.waiting) return `Waiting${s.waiting.reason ? ` (${s.waiting.reason})` : ""}`;
  if (s?.terminated) return `Terminated (${s.terminated.reason ?? "exit"} ${s.terminated.exitCode})`;
  return "—";
}

export function PodDetail(p: { namespace: string; name: string }) {
  const pods = useResource<Pod>("pods");
  const events = useResource<Event>("events");
  const now = useNow();
  const logsAnswer = useAccess()(Asks.podLogs(p.namespace));
  const pod = pods.items.find((x) => x.metadata.namespace === p.namespace && x.metadata.name === p.name);
  const containers = pod?.spec?.containers ?? [];
  const [container, setContainer] = useState<string | undefined>();
  const shown = container ?? containers[0]?.name;
  const podEvents = sortEvents(
    events.items.filter((e) => e.involvedObject?.kind === "Pod" && e.involvedObject.name === p.name && (e.metadata.namespace ?? e.involvedObject.namespace) === p.namespace),
  );
  return (
    <section aria-labelledby="h-pod">
      <p>
        <a href="#/workloads">← Workloads</a>
      </p>
      <h1 id="h-pod">
        Pod {p.namespace}/{p.name}
      </h1>
      <Loading synced={pods.synced} error={pods.error} what="the pod" />
      {pods.synced && !pod && <p class="error">This pod does not exist (any more).</p>}
      {pod && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Badge text={podStatus(pod)} />
            </dd>
            <dt>Ready</dt>
            <dd>{podReady(pod)}</dd>
            <dt>Restarts</dt>
            <dd>{podRestarts(pod)}</dd>
            <dt>Node</dt>
            <dd>{pod.spec?.nodeName ?? "—"}</dd>
            <dt>Pod IP</dt>
            <dd>{pod.status?.podIP ?? "—"}</dd>
            <dt>Age</dt>
            <dd>{age(pod.metadata.creationTimestamp, now)}</dd>
            <dt>Owner</dt>
            <dd>{pod.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`).join(", ") ?? "—"}</dd>
          </dl>

          <h2>Containers</h2>
          <div class="table-wrap">
            <table aria-label="Containers">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Image</th>
                  <th scope="col">State</th>
                  <th scope="col">Ready</th>
                  <th scope="col">Restarts</th>
                  <th scope="col">Requests</th>
                </tr>
              </thead>
              <tbody>
                {containers.map((c) => {
                  const cs = pod.status?.containerStatuses?.find((s) => s.name === c.name);
                  const req = c.resources?.requests ?? {};
                  return (
                    <tr>
                      <th scope="row">{c.name}</th>
                      <td class="wrap">{c.image}</td>
                      <td>{stateText(cs?.state)}</td>
                      <td>{cs?.ready ? "yes" : "no"}</td>
                      <td>{cs?.restartCount ?? 0}</td>
                      <td>{Object.entries(req).map(([k, v]) => `${k} ${v}`).join(", ") || "—"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>

          <h2>Conditions</h2>
          <div class="table-wrap">
            <table aria-label="Conditions">
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {(pod.status?.conditions ?? []).map((c) => (
                  <tr>
                    <th scope="row">{c.type}</th>
                    <td>
                      <Badge text={c.status} />
                    </td>
                    <td class="wrap">{[c.reason, c.message].filter(Boolean).join(": ") || "—"}</td>
                    <td>{age(c.lastTransitionTime, now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          <h2>Events</h2>
          {podEvents.length === 0 ? <p class="muted">No events.</p> : <EventTable events={podEvents} now={now} label="Pod events" />}

          <div class="view-head">
            <h2>Logs</h2>
            {containers.length > 1 && (
              <label class="picker">
                Container{" "}
                <select value={shown} onChange={(e) => setContainer((e.target as HTMLSelectElement).value)}>
                  {containers.map((c) => (
                    <option value={c.name}>{c.name}</option>
                  ))}
                </select>
              </label>
            )}
          </div>
          {logsAnswer === undefined ? (
            <p class="muted">Asking whether you may read its logs…</p>
          ) : logsAnswer === false ? (
            <p class="muted">You may not read this pod's logs (pods/log in {p.namespace}).</p>
          ) : shown && pod.spec?.nodeName ? (
            <LogPane namespace={p.namespace} pod={p.name} container={shown} running={!pod.metadata.deletionTimestamp} />
          ) : (
            <p class="muted">The pod is not on a node yet.</p>
          )}
        </>
      )}
    </section>
  );
}
