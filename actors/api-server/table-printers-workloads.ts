/**
 * Table printers of DaemonSets, StatefulSets, ControllerRevisions, Jobs and CronJobs, column for
 * column as kubernetes pkg/printers/internalversion/printers.go (1.32) prints them.
 */
import type { ControllerRevision, CronJob, DaemonSet, Job, KubeObject, StatefulSet } from "../../bus/resources.ts";
import type { Printer } from "./table-kit.ts";
import { selectorToString } from "../../bus/selectors.ts";
import { jobCompletions, jobStatusText } from "../../bus/job-status.ts";
import { ageOf, humanDuration } from "./human-duration.ts";
import { col, wide, NAME, AGE, CONTAINERS, IMAGES, age, orNone, formatLabels, containerCells } from "./table-kit.ts";

/** metav1.FormatLabelSelector: `<none>` for a missing or empty selector. */
const formatSelector = (s: Parameters<typeof selectorToString>[0]) => orNone(selectorToString(s));
const JOB_SELECTOR = col("Selector", "A label query over pods that should match the pod count.", wide);

const daemonsets: Printer = {
  columns: [
    NAME,
    col("Desired", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).", { type: "integer" }),
    col("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.", { type: "integer" }),
    col("Ready", "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.", { type: "integer" }),
    col("Up-to-date", "The total number of nodes that are running updated daemon pod", { type: "integer" }),
    col("Available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)", { type: "integer" }),
    col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "A label query over pods that are managed by the daemon set.", wide),
  ],
  cells(o, now) {
    const d = o as DaemonSet;
    const st = d.status;
    return [
      d.metadata.name ?? "",
      st?.desiredNumberScheduled ?? 0,
      st?.currentNumberScheduled ?? 0,
      st?.numberReady ?? 0,
      st?.updatedNumberScheduled ?? 0,
      st?.numberAvailable ?? 0,
      formatLabels(d.spec.template?.spec?.nodeSelector),
      age(d, now),
      ...containerCells(d.spec.template),
      formatSelector(d.spec.selector),
    ];
  },
};

const statefulsets: Printer = {
  columns: [NAME, col("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES],
  cells(o, now) {
    const s = o as StatefulSet;
    return [s.metadata.name ?? "", `${s.status?.readyReplicas ?? 0}/${s.spec.replicas ?? 1}`, age(s, now), ...containerCells(s.spec.template)];
  },
};

/** formatResourceName with kind: `daemonset.apps/agent`. */
function controllerName(o: KubeObject): string {
  const ref = (o.metadata.ownerReferences ?? []).find((r) => r.controller);
  if (!ref) return "<none>";
  const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
  return `${(group ? `${ref.kind}.${group}` : ref.kind).toLowerCase()}/${ref.name}`;
}
const controllerrevisions: Printer = {
  columns: [NAME, col("Controller", "Controller of the object"), col("Revision", "Revision indicates the revision of the state represented by Data."), AGE],
  cells: (o, now) => [o.metadata.name ?? "", controllerName(o), (o as ControllerRevision).revision ?? 0, age(o, now)],
};

function jobDuration(j: Job, now: Date): string {
  const start = j.status?.startTime;
  if (!start) return "";
  const end = j.status?.completionTime;
  return end ? humanDuration(Date.parse(end) - Date.parse(start)) : humanDuration(now.getTime() - Date.parse(start));
}
const jobs: Printer = {
  columns: [
    NAME,
    col("Status", "Status of the job."),
    col("Completions", "The number of pods which reached phase Succeeded."),
    col("Duration", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    JOB_SELECTOR,
  ],
  cells(o, now) {
    const j = o as Job;
    return [j.metadata.name ?? "", jobStatusText(j), jobCompletions(j), jobDuration(j, now), age(j, now), ...containerCells(j.spec.template), formatSelector(j.spec.selector)];
  },
};

const cronjobs: Printer = {
  columns: [
    NAME,
    col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    col("Timezone", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
    col("Suspend", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.", { type: "boolean" }),
    col("Active", "A list of pointers to currently running jobs.", { type: "integer" }),
    col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    AGE,
    CONTAINERS,
    IMAGES,
    JOB_SELECTOR,
  ],
  cells(o, now) {
    const c = o as CronJob;
    const suspend = c.spec.suspend === undefined || c.spec.suspend === null ? "<unset>" : c.spec.suspend ? "True" : "False";
    const last = c.status?.lastScheduleTime ? ageOf(c.status.lastScheduleTime, now) : "<none>";
    return [
      c.metadata.name ?? "",
      c.spec.schedule,
      c.spec.timeZone ?? "<none>",
      suspend,
      (c.status?.active ?? []).length,
      last,
      age(c, now),
      ...containerCells(c.spec.jobTemplate?.spec?.template),
      formatSelector(c.spec.jobTemplate?.spec?.selector),
    ];
  },
};

export const WORKLOAD_PRINTERS: Readonly<Record<string, Printer>> = { daemonsets, statefulsets, controllerrevisions, jobs, cronjobs };
