/** How a Job reads to a person (kubectl's STATUS and COMPLETIONS columns); shared by the api-server's Tables and the dashboard. */
import type { Job } from "./resources.ts";

const hasCondition = (j: Job, type: string) => (j.status?.conditions ?? []).some((c) => c.type === type && c.status === "True");

/** Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet, else Running. */
export function jobStatusText(j: Job): string {
  if (hasCondition(j, "Complete")) return "Complete";
  if (hasCondition(j, "Failed")) return "Failed";
  if (j.metadata.deletionTimestamp) return "Terminating";
  if (hasCondition(j, "Suspended")) return "Suspended";
  if (hasCondition(j, "FailureTarget")) return "FailureTarget";
  if (hasCondition(j, "SuccessCriteriaMet")) return "SuccessCriteriaMet";
  return "Running";
}

/** "2/5"; without completions "0/1", or "0/1 of 3" for a work queue of parallelism 3. */
export function jobCompletions(j: Job): string {
  const succeeded = j.status?.succeeded ?? 0;
  if (j.spec?.completions !== undefined && j.spec.completions !== null) return `${succeeded}/${j.spec.completions}`;
  const parallelism = j.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}
