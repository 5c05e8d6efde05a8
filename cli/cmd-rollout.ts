/**
 * `rollout status|history|undo` for Deployments. Status follows kubectl's DeploymentStatusViewer;
 * history reads the ReplicaSets' `deployment.kubernetes.io/revision`; undo sends the JSON patch
 * kubectl 1.32 sends (the revision's template and annotations).
 */
import type { Command } from "commander";
import type { Deployment, ReplicaSet, KubeList } from "../bus/resources.ts";
import type { ApiClient } from "./http.ts";
import { apiOptions, apiFrom, namespaceOf, parseTargets, type ApiFlags } from "./context.ts";
import { pathFor, ApiError } from "./http.ts";
import { resourceType } from "../bus/kinds.ts";
import { formatColumns } from "./print.ts";
import { CliError } from "./errors.ts";

const DEPLOYMENTS = resourceType("deployments")!;
const REPLICASETS = resourceType("replicasets")!;
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE = "kubernetes.io/change-cause";
/** Annotations kubectl's rollback neither copies from the ReplicaSet nor drops from the Deployment. */
const ANNOTATIONS_TO_SKIP = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION_ANNOTATION,
  "deployment.kubernetes.io/revision-history",
  "deployment.kubernetes.io/desired-replicas",
  "deployment.kubernetes.io/max-replicas",
  "deprecated.deployment.rollback.to",
]);

export interface RolloutVerdict {
  done: boolean;
  message: string;
  failed?: boolean;
}

/** kubectl's DeploymentStatusViewer.Status, pure. */
export function rolloutStatus(d: Deployment): RolloutVerdict {
  const name = d.metadata.name;
  const s = d.status ?? {};
  const want = d.spec.replicas ?? 1;
  if ((d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return { done: false, message: "Waiting for deployment spec update to be observed..." };
  const progressing = s.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") return { done: true, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
  const updated = s.updatedReplicas ?? 0;
  if (updated < want) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...` };
  if ((s.replicas ?? 0) > updated) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${(s.replicas ?? 0) - updated} old replicas are pending termination...` };
  if ((s.availableReplicas ?? 0) < updated) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${s.availableReplicas ?? 0} of ${updated} updated replicas are available...` };
  return { done: true, message: `deployment "${name}" successfully rolled out` };
}

/**
 * Watches one Deployment until its rollout is done (or the timeout passes), printing each new
 * verdict once. Resolves with the last verdict.
 */
export async function waitRollout(api: ApiClient, ns: string, name: string, o: { timeoutMs: number; print?: (s: string) => void }): Promise<RolloutVerdict> {
  const deadline = Date.now() + o.timeoutMs;
  let last = "";
  const show = (v: RolloutVerdict) => {
    if (v.message !== last) o.print?.(v.message);
    last = v.message;
  };
  for (;;) {
    const d = await api.get<Deployment>(pathFor(DEPLOYMENTS, { namespace: ns, name }));
    let v = rolloutStatus(d);
    show(v);
    if (v.done) return v;
    const left = deadline - Date.now();
    if (left <= 0) return { ...v, failed: true, message: `timed out waiting for the rollout of deployment "${name}": ${v.message}` };
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), Math.min(left, 30_000));
    try {
      await api.stream(
        pathFor(DEPLOYMENTS, { namespace: ns }),
        { signal: ac.signal, query: { watch: true, fieldSelector: `metadata.name=${name}`, resourceVersion: d.metadata.resourceVersion } },
        (line) => {
          if (!line.trim()) return;
          const ev = JSON.parse(line) as { type: string; object: Deployment };
          if (ev.type === "ERROR") return ac.abort();
          if (ev.type === "DELETED") throw new CliError(`deployment "${name}" was deleted`);
          if (ev.type !== "MODIFIED" && ev.type !== "ADDED") return;
          v = rolloutStatus(ev.object);
          show(v);
          if (v.done) ac.abort();
        },
      );
    } finally {
      clearTimeout(timer);
    }
    if (v.done) return v;
  }
}

async function ownedReplicaSets(api: ApiClient, d: Deployment): Promise<ReplicaSet[]> {
  const list = await api.get<KubeList<ReplicaSet>>(pathFor(REPLICASETS, { namespace: d.metadata.namespace }));
  return list.items
    .filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid))
    .sort((a, b) => revisionOf(a) - revisionOf(b));
}
const revisionOf = (rs: ReplicaSet) => Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);

/** The JSON patch of kubectl's rollback to a ReplicaSet (pure). */
export function undoPatch(d: Deployment, rs: ReplicaSet): { op: "replace"; path: string; value: unknown }[] {
  const template = structuredClone(rs.spec.template);
  if (template.metadata?.labels) delete template.metadata.labels["pod-template-hash"];
  const annotations: Record<string, string> = {};
  for (const k of ANNOTATIONS_TO_SKIP) {
    const v = d.metadata.annotations?.[k];
    if (v !== undefined) annotations[k] = v;
  }
  for (const [k, v] of Object.entries(rs.metadata.annotations ?? {})) if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  return [
    { op: "replace", path: "/spec/template", value: template },
    { op: "replace", path: "/metadata/annotations", value: annotations },
  ];
}

function deploymentNames(args: string[]): string[] {
  const targets = parseTargets(args);
  for (const t of targets) if (t.rt.resource !== "deployments") throw new CliError(`rollout supports deployments only, not ${t.rt.resource}`);
  const names = targets.flatMap((t) => t.names);
  if (names.length === 0) throw new CliError("rollout needs a deployment name, e.g. deployment/web");
  return names;
}

export function registerRollout(program: Command): void {
  const rollout = program.command("rollout").description("follow, list and undo Deployment rollouts");
  apiOptions(
    rollout
      .command("status")
      .description("watch a Deployment until its rollout is done")
      .argument("<args...>", "deployment/NAME | deployment NAME")
      .option("--timeout <seconds>", "give up after this long", "300"),
  ).action(async (args: string[], f: ApiFlags & { timeout: string }) => {
    const api = apiFrom(f);
    const ns = namespaceOf(api, f)!;
    for (const name of deploymentNames(args)) {
      const v = await waitRollout(api, ns, name, { timeoutMs: Number(f.timeout) * 1000, print: (s) => process.stdout.write(s + "\n") });
      if (v.failed) throw new CliError(v.message);
    }
  });

  apiOptions(rollout.command("history").description("list a Deployment's revisions").argument("<args...>", "deployment/NAME").option("--revision <n>", "show one revision's pod template")).action(
    async (args: string[], f: ApiFlags & { revision?: string }) => {
      const api = apiFrom(f);
      const ns = namespaceOf(api, f)!;
      for (const name of deploymentNames(args)) {
        const d = await api.get<Deployment>(pathFor(DEPLOYMENTS, { namespace: ns, name }));
        const sets = await ownedReplicaSets(api, d);
        if (f.revision) {
          const rs = sets.find((r) => revisionOf(r) === Number(f.revision));
          if (!rs) throw new CliError(`unable to find the specified revision ${f.revision}`);
          const { stringify } = await import("yaml");
          process.stdout.write(`deployment.apps/${name} with revision #${f.revision}\nPod Template:\n${stringify(rs.spec.template).replace(/^/gm, "  ")}`);
          continue;
        }
        process.stdout.write(`deployment.apps/${name}\n`);
        process.stdout.write(formatColumns(["REVISION", "CHANGE-CAUSE"], sets.filter((r) => revisionOf(r) > 0).map((r) => [String(revisionOf(r)), r.metadata.annotations?.[CHANGE_CAUSE] ?? "<none>"])) + "\n");
      }
    },
  );

  apiOptions(rollout.command("undo").description("roll a Deployment back to its previous (or a given) revision").argument("<args...>", "deployment/NAME").option("--to-revision <n>", "the revision to go back to (default: the previous one)")).action(
    async (args: string[], f: ApiFlags & { toRevision?: string }) => {
      const api = apiFrom(f);
      const ns = namespaceOf(api, f)!;
      for (const name of deploymentNames(args)) {
        const d = await api.get<Deployment>(pathFor(DEPLOYMENTS, { namespace: ns, name }));
        const sets = (await ownedReplicaSets(api, d)).filter((r) => revisionOf(r) > 0);
        const current = Number(d.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);
        const to = f.toRevision && Number(f.toRevision) > 0 ? Number(f.toRevision) : Math.max(0, ...sets.map(revisionOf).filter((r) => r < current));
        const rs = sets.find((r) => revisionOf(r) === to);
        if (!rs) throw new CliError(to ? `unable to find the specified revision ${to}` : `no rollout history found for deployment "${name}"`);
        if (to === current) {
          process.stdout.write(`deployment.apps/${name} skipped rollback (current template already matches revision ${to})\n`);
          continue;
        }
        try {
          await api.request("PATCH", pathFor(DEPLOYMENTS, { namespace: ns, name }), { body: undoPatch(d, rs), contentType: "application/json-patch+json" });
        } catch (e) {
          if (e instanceof ApiError) throw new CliError(`failed to roll back deployment "${name}": ${e.message}`);
          throw e;
        }
        process.stdout.write(`deployment.apps/${name} rolled back\n`);
      }
    },
  );
}
