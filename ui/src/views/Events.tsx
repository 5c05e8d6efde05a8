/** The live event feed, newest first, filtered by namespace, type and text. */
import type { Event } from "../../../bus/resources.ts";
import { useState } from "preact/hooks";
import { NamespacePicker } from "../components/NamespacePicker.tsx";
import { Badge, Loading } from "../components/Status.tsx";
import { age, eventTime, filterEvents } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";

export function EventTable(p: { events: Event[]; now: number; label: string; showNamespace?: boolean }) {
  return (
    <div class="table-wrap">
      <table aria-label={p.label}>
        <thead>
          <tr>
            <th scope="col">Last seen</th>
            <th scope="col">Type</th>
            {p.showNamespace && <th scope="col">Namespace</th>}
            <th scope="col">Object</th>
            <th scope="col">Reason</th>
            <th scope="col">Message</th>
            <th scope="col">Count</th>
          </tr>
        </thead>
        <tbody>
          {p.events.map((e) => (
            <tr data-reason={e.reason}>
              <td>{age(eventTime(e), p.now)}</td>
              <td>
                <Badge text={e.type ?? "Normal"} />
              </td>
              {p.showNamespace && <td>{e.metadata.namespace}</td>}
              <td>
                {e.involvedObject?.kind}/{e.involvedObject?.name}
              </td>
              <td>{e.reason}</td>
              <td class="wrap">{e.message}</td>
              <td>{e.count ?? 1}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Events(p: { namespace: string; setNamespace: (ns: string) => void }) {
  const events = useResource<Event>("events");
  const now = useNow();
  const [type, setType] = useState<"" | "Normal" | "Warning">("");
  const [text, setText] = useState("");
  const shown = filterEvents(events.items, { namespace: p.namespace, type, text }).slice(0, 500);
  return (
    <section aria-labelledby="h-events">
      <div class="view-head">
        <h1 id="h-events">Events</h1>
        <NamespacePicker value={p.namespace} onChange={p.setNamespace} />
        <label class="picker">
          Type{" "}
          <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value as "" | "Normal" | "Warning")}>
            <option value="">All</option>
            <option value="Normal">Normal</option>
            <option value="Warning">Warning</option>
          </select>
        </label>
        <label class="picker">
          Filter <input type="search" value={text} placeholder="reason, object, message" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      <Loading synced={events.synced} error={events.error} what="events" />
      <p class="muted" aria-live="polite">
        {shown.length} event(s), live.
      </p>
      <EventTable events={shown} now={now} label="Events" showNamespace={!p.namespace} />
    </section>
  );
}
