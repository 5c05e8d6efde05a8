/**
 * DaemonSets, StatefulSets, Jobs and CronJobs of a namespace, with kubectl's columns. A view of its
 * own: with the Workloads view's four streams, four more would pass the browser's six connections.
 */
import type { CronJob, DaemonSet, Job, KubeObject, StatefulSet } from "../../../bus/resources.ts";
import type { ComponentChildren } from "preact";
import { NamespacePicker } from "../components/NamespacePicker.tsx";
import { Badge, Loading } from "../components/Status.tsx";
import { age, jobCompletions, jobStatus } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";

const inNs = <T extends KubeObject>(items: T[], ns: string): T[] =>
  items.filter((o) => !ns || o.metadata.namespace === ns).sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
const images = (o: { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } }) => (o.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? "").join(", ");

function Table<T extends KubeObject>(p: { caption: string; items: T[]; showNs: boolean; columns: string[]; row: (o: T) => ComponentChildren[] }) {
  return (
    <>
      <h2>{p.caption}</h2>
      {p.items.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <div class="table-wrap">
          <table aria-label={p.caption}>
            <thead>
              <tr>
                {p.showNs && <th scope="col">Namespace</th>}
                <th scope="col">Name</th>
                {p.columns.map((c) => (
                  <th scope="col">{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {p.items.map((o) => (
                <tr data-name={o.metadata.name}>
                  {p.showNs && <td>{o.metadata.namespace}</td>}
                  <th scope="row">{o.metadata.name}</th>
                  {p.row(o).map((cell) => (
                    <td>{cell}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function SetsAndJobs(p: { namespace: string; setNamespace: (ns: string) => void }) {
  const daemonsets = useResource<DaemonSet>("daemonsets");
  const statefulsets = useResource<StatefulSet>("statefulsets");
  const jobs = useResource<Job>("jobs");
  const cronjobs = useResource<CronJob>("cronjobs");
  const now = useNow();
  const ns = p.namespace;
  const showNs = ns === "";
  const synced = daemonsets.synced && statefulsets.synced && jobs.synced && cronjobs.synced;
  return (
    <section aria-labelledby="h-sets-jobs">
      <div class="view-head">
        <h1 id="h-sets-jobs">Sets &amp; Jobs</h1>
        <NamespacePicker value={ns} onChange={p.setNamespace} />
      </div>
      <Loading synced={synced} error={daemonsets.error ?? statefulsets.error ?? jobs.error ?? cronjobs.error} what="sets and jobs" />
      <Table
        caption="DaemonSets"
        items={inNs(daemonsets.items, ns)}
        showNs={showNs}
        columns={["Desired", "Current", "Ready", "Up-to-date", "Available", "Images", "Age"]}
        row={(d) => [
          d.status?.desiredNumberScheduled ?? 0,
          d.status?.currentNumberScheduled ?? 0,
          d.status?.numberReady ?? 0,
          d.status?.updatedNumberScheduled ?? 0,
          d.status?.numberAvailable ?? 0,
          images(d),
          age(d.metadata.creationTimestamp, now),
        ]}
      />
      <Table
        caption="StatefulSets"
        items={inNs(statefulsets.items, ns)}
        showNs={showNs}
        columns={["Ready", "Up-to-date", "Images", "Age"]}
        row={(s) => [`${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`, s.status?.updatedReplicas ?? 0, images(s), age(s.metadata.creationTimestamp, now)]}
      />
      <Table
        caption="Jobs"
        items={inNs(jobs.items, ns)}
        showNs={showNs}
        columns={["Status", "Completions", "Age"]}
        row={(j) => [<Badge text={jobStatus(j)} />, jobCompletions(j), age(j.metadata.creationTimestamp, now)]}
      />
      <Table
        caption="CronJobs"
        items={inNs(cronjobs.items, ns)}
        showNs={showNs}
        columns={["Schedule", "Suspend", "Active", "Last schedule", "Age"]}
        row={(c) => [
          <code>{c.spec?.schedule}</code>,
          c.spec?.suspend ? "True" : "False",
          (c.status?.active ?? []).length,
          c.status?.lastScheduleTime ? age(c.status.lastScheduleTime, now) : "—",
          age(c.metadata.creationTimestamp, now),
        ]}
      />
    </section>
  );
}
