/** Nodes with capacity and allocation, pod phases, recent Warning events. */
import type { Event, Node, Pod } from "../../../bus/resources.ts";
import { Bar } from "../components/Bar.tsx";
import { Badge, Loading } from "../components/Status.tsx";
import { allocation, age, filterEvents, formatCpu, formatMemory, nodeReadiness, phaseCounts, PHASES } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";

export function Overview() {
  const nodes = useResource<Node>("nodes");
  const pods = useResource<Pod>("pods");
  const events = useResource<Event>("events");
  const now = useNow();
  const sorted = [...nodes.items].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const ready = sorted.filter((n) => nodeReadiness(n) === "Ready").length;
  const phases = phaseCounts(pods.items);
  const warnings = filterEvents(events.items, { type: "Warning" }).slice(0, 8);
  return (
    <section aria-labelledby="h-overview">
      <h1 id="h-overview">Overview</h1>
      <div class="summary">
        <div class="stat">
          <span class="stat-n">
            {ready}/{sorted.length}
          </span>
          <span>nodes ready</span>
        </div>
        {PHASES.map((ph) => (
          <div class="stat" data-phase={ph}>
            <span class="stat-n">{phases[ph]}</span>
            <span>pods {ph.toLowerCase()}</span>
          </div>
        ))}
      </div>

      <h2>Nodes</h2>
      <Loading synced={nodes.synced} error={nodes.error} what="nodes" />
      <ul class="cards" aria-label="nodes">
        {sorted.map((n) => {
          const a = allocation(n, pods.items);
          return (
            <li class="card" data-node={n.metadata.name}>
              <div class="card-head">
                <strong>{n.metadata.name}</strong>
                <Badge text={nodeReadiness(n)} />
                {n.spec?.unschedulable && <Badge text="SchedulingDisabled" />}
              </div>
              <Bar label="CPU requests" usage={a.cpu} format={formatCpu} />
              <Bar label="Memory requests" usage={a.memory} format={formatMemory} />
              <Bar label="Pods" usage={a.pods} format={String} />
            </li>
          );
        })}
      </ul>

      <h2>Recent warnings</h2>
      <Loading synced={events.synced} error={events.error} what="events" />
      {events.synced && warnings.length === 0 && <p class="muted">No Warning events.</p>}
      {warnings.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Age</th>
                <th scope="col">Object</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {warnings.map((e) => (
                <tr>
                  <td>{age(e.lastTimestamp ?? e.metadata.creationTimestamp, now)}</td>
                  <td>
                    {e.involvedObject?.kind}/{e.involvedObject?.name}
                  </td>
                  <td>{e.reason}</td>
                  <td class="wrap">{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
