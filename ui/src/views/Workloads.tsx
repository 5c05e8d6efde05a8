/** Deployments, ReplicaSets, ReplicationControllers and pods of a namespace; scale and delete where the user may (SelfSubjectAccessReview). */
import type { Deployment, KubeObject, Pod, ReplicaSet, ReplicationController } from "../../../bus/resources.ts";
import { useState } from "preact/hooks";
import { ConfirmDialog } from "../components/ConfirmDialog.tsx";
import { NamespacePicker } from "../components/NamespacePicker.tsx";
import { Badge, Loading } from "../components/Status.tsx";
import { actions } from "../lib/api.ts";
import { age, podReady, podRestarts, podStatus } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";
import { Asks } from "../lib/access.ts";
import { useCan } from "../lib/can.ts";
import { hrefOf } from "../lib/route.ts";

const inNs = <T extends KubeObject>(items: T[], ns: string): T[] =>
  items.filter((o) => !ns || o.metadata.namespace === ns).sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));

type Pending = { type: "scale"; ns: string; name: string; replicas: number } | { type: "delete"; ns: string; name: string };

export function Workloads(p: { namespace: string; setNamespace: (ns: string) => void }) {
  const deployments = useResource<Deployment>("deployments");
  const replicasets = useResource<ReplicaSet>("replicasets");
  const rcs = useResource<ReplicationController>("replicationcontrollers");
  const pods = useResource<Pod>("pods");
  const now = useNow();
  const can = useCan();
  const [pending, setPending] = useState<Pending | undefined>();
  const [replicas, setReplicas] = useState("");
  const ns = p.namespace;
  const showNs = ns === "";
  const nsCell = (o: KubeObject) => showNs && <td>{o.metadata.namespace}</td>;
  const nsHead = showNs && <th scope="col">Namespace</th>;
  const replicaTable = (caption: string, items: (ReplicaSet | ReplicationController)[]) =>
    items.length > 0 && (
      <div class="table-wrap">
        <table aria-label={caption}>
          <caption>{caption}</caption>
          <thead>
            <tr>
              {nsHead}
              <th scope="col">Name</th>
              <th scope="col">Desired</th>
              <th scope="col">Current</th>
              <th scope="col">Ready</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr>
                {nsCell(r)}
                <th scope="row">{r.metadata.name}</th>
                <td>{r.spec?.replicas ?? 1}</td>
                <td>{r.status?.replicas ?? 0}</td>
                <td>{r.status?.readyReplicas ?? 0}</td>
                <td>{age(r.metadata.creationTimestamp, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  const podList = inNs(pods.items, ns);
  const deploymentList = inNs(deployments.items, ns);
  const mayScale = (d: Deployment) => can(Asks.scaleDeployment(d.metadata.namespace!));
  const mayDelete = (pod: Pod) => can(Asks.deletePod(pod.metadata.namespace!));
  const scaleColumn = deploymentList.some(mayScale);
  const deleteColumn = podList.some(mayDelete);
  return (
    <section aria-labelledby="h-workloads">
      <div class="view-head">
        <h1 id="h-workloads">Workloads</h1>
        <NamespacePicker value={ns} onChange={p.setNamespace} />
      </div>
      <Loading synced={deployments.synced && pods.synced} error={deployments.error ?? pods.error} what="workloads" />

      <h2>Deployments</h2>
      <div class="table-wrap">
        <table aria-label="Deployments">
          <thead>
            <tr>
              {nsHead}
              <th scope="col">Name</th>
              <th scope="col">Ready</th>
              <th scope="col">Up-to-date</th>
              <th scope="col">Available</th>
              <th scope="col">Age</th>
              {scaleColumn && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {deploymentList.map((d) => (
              <tr data-deployment={d.metadata.name}>
                {nsCell(d)}
                <th scope="row">{d.metadata.name}</th>
                <td>
                  {d.status?.readyReplicas ?? 0}/{d.spec?.replicas ?? 1}
                </td>
                <td>{d.status?.updatedReplicas ?? 0}</td>
                <td>{d.status?.availableReplicas ?? 0}</td>
                <td>{age(d.metadata.creationTimestamp, now)}</td>
                {scaleColumn && (
                  <td>
                    {mayScale(d) && (
                      <button
                        type="button"
                        onClick={() => {
                          setReplicas(String(d.spec?.replicas ?? 1));
                          setPending({ type: "scale", ns: d.metadata.namespace!, name: d.metadata.name!, replicas: d.spec?.replicas ?? 1 });
                        }}
                      >
                        Scale<span class="sr-only"> {d.metadata.name}</span>
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {replicaTable("ReplicaSets", inNs(replicasets.items, ns))}
      {replicaTable("ReplicationControllers", inNs(rcs.items, ns))}

      <h2>
        Pods <span class="muted">({podList.length})</span>
      </h2>
      <div class="table-wrap">
        <table aria-label="Pods">
          <thead>
            <tr>
              {nsHead}
              <th scope="col">Name</th>
              <th scope="col">Ready</th>
              <th scope="col">Status</th>
              <th scope="col">Restarts</th>
              <th scope="col">Node</th>
              <th scope="col">Age</th>
              {deleteColumn && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {podList.map((pod) => (
              <tr data-pod={pod.metadata.name}>
                {nsCell(pod)}
                <th scope="row">
                  <a href={hrefOf({ view: "pod", namespace: pod.metadata.namespace!, name: pod.metadata.name! })}>{pod.metadata.name}</a>
                </th>
                <td>{podReady(pod)}</td>
                <td>
                  <Badge text={podStatus(pod)} />
                </td>
                <td>{podRestarts(pod)}</td>
                <td>{pod.spec?.nodeName ?? "—"}</td>
                <td>{age(pod.metadata.creationTimestamp, now)}</td>
                {deleteColumn && (
                  <td>
                    {mayDelete(pod) && (
                      <button type="button" class="danger" onClick={() => setPending({ type: "delete", ns: pod.metadata.namespace!, name: pod.metadata.name! })}>
                        Delete<span class="sr-only"> {pod.metadata.name}</span>
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {pending?.type === "scale" && (
        <ConfirmDialog
          title={`Scale deployment ${pending.name}`}
          confirmLabel="Scale"
          onConfirm={() => {
            const n = Number(replicas);
            if (!Number.isInteger(n) || n < 0) return Promise.reject(new Error("replicas must be a whole number ≥ 0"));
            return actions.scale(pending.ns, pending.name, n);
          }}
          onClose={() => setPending(undefined)}
        >
          <label class="field">
            Replicas (now {pending.replicas})
            <input type="number" min={0} step={1} name="replicas" value={replicas} onInput={(e) => setReplicas((e.target as HTMLInputElement).value)} />
          </label>
        </ConfirmDialog>
      )}
      {pending?.type === "delete" && (
        <ConfirmDialog title={`Delete pod ${pending.name}?`} confirmLabel="Delete" danger onConfirm={() => actions.deletePod(pending.ns, pending.name)} onClose={() => setPending(undefined)}>
          <p>
            The pod in namespace <code>{pending.ns}</code> is stopped gracefully. If a controller owns it, a replacement is created.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
