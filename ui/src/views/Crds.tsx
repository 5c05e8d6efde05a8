/** CustomResourceDefinitions: the kinds they add, their versions, scope and whether they are served. */
import type { CustomResourceDefinition } from "../../../bus/crd.ts";
import { Loading } from "../components/Status.tsx";
import { age } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";

export function Crds() {
  const crds = useResource<CustomResourceDefinition>("customresourcedefinitions");
  const now = useNow();
  const list = [...crds.items].sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  return (
    <section aria-labelledby="h-crds">
      <div class="view-head">
        <h1 id="h-crds">Custom resources</h1>
      </div>
      <Loading synced={crds.synced} error={crds.error} what="custom resource definitions" />
      <div class="table-wrap">
        <table aria-label="CustomResourceDefinitions">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Group</th>
              <th scope="col">Versions</th>
              <th scope="col">Scope</th>
              <th scope="col">Established</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => {
              const established = (c.status?.conditions ?? []).some((x) => x.type === "Established" && x.status === "True");
              const versions = (c.spec?.versions ?? []).map((v) => `${v.name}${v.storage ? " (storage)" : ""}${v.served ? "" : " (not served)"}`);
              return (
                <tr data-crd={c.metadata.name}>
                  <th scope="row">{c.metadata.name}</th>
                  <td>{c.spec?.names?.kind ?? "—"}</td>
                  <td>{c.spec?.group ?? "—"}</td>
                  <td>{versions.join(", ")}</td>
                  <td>{c.spec?.scope ?? "—"}</td>
                  <td>{c.metadata.deletionTimestamp ? "deleting" : established ? "yes" : "no"}</td>
                  <td>{age(c.metadata.creationTimestamp, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
