/** Every node: status, capacity, allocation, taints; cordon/uncordon for those who may patch nodes. */
import type { Node, Pod } from "../../../bus/resources.ts";
import { useState } from "preact/hooks";
import { ConfirmDialog } from "../components/ConfirmDialog.tsx";
import { Badge, Loading } from "../components/Status.tsx";
import { actions } from "../lib/api.ts";
import { age, allocation, formatCpu, formatMemory, nodeStatusText } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";
import { Asks } from "../lib/access.ts";
import { useCan } from "../lib/can.ts";

export function Nodes() {
  const nodes = useResource<Node>("nodes");
  const pods = useResource<Pod>("pods");
  const now = useNow();
  const mayCordon = useCan()(Asks.cordon());
  const [pending, setPending] = useState<{ node: string; cordon: boolean } | undefined>();
  const sorted = [...nodes.items].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  return (
    <section aria-labelledby="h-nodes">
      <h1 id="h-nodes">Nodes</h1>
      <Loading synced={nodes.synced} error={nodes.error} what="nodes" />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">CPU (req/alloc)</th>
              <th scope="col">Memory (req/alloc)</th>
              <th scope="col">Pods</th>
              <th scope="col">Taints</th>
              <th scope="col">Version</th>
              <th scope="col">Age</th>
              {mayCordon && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {sorted.map((n) => {
              const a = allocation(n, pods.items);
              const name = n.metadata.name!;
              return (
                <tr data-node={name}>
                  <th scope="row">{name}</th>
                  <td>
                    <Badge text={nodeStatusText(n)} />
                  </td>
                  <td>
                    {formatCpu(a.cpu.used)} / {formatCpu(a.cpu.total)}
                  </td>
                  <td>
                    {formatMemory(a.memory.used)} / {formatMemory(a.memory.total)}
                  </td>
                  <td>
                    {a.pods.used} / {a.pods.total}
                  </td>
                  <td class="wrap">{(n.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join(", ") || "—"}</td>
                  <td>{n.status?.nodeInfo?.kubeletVersion ?? "—"}</td>
                  <td>{age(n.metadata.creationTimestamp, now)}</td>
                  {mayCordon && (
                    <td>
                      <button type="button" onClick={() => setPending({ node: name, cordon: !n.spec?.unschedulable })}>
                        {n.spec?.unschedulable ? "Uncordon" : "Cordon"}
                        <span class="sr-only"> {name}</span>
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {pending && (
        <ConfirmDialog
          title={`${pending.cordon ? "Cordon" : "Uncordon"} node ${pending.node}?`}
          confirmLabel={pending.cordon ? "Cordon" : "Uncordon"}
          onConfirm={() => actions.cordon(pending.node, pending.cordon)}
          onClose={() => setPending(undefined)}
        >
          <p>
            {pending.cordon
              ? "New pods will not be scheduled on this node. Pods already running there stay."
              : "The scheduler may place new pods on this node again."}
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
