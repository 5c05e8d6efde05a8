/** Services with their ready and not-ready endpoints. */
import type { Endpoints, Service } from "../../../bus/resources.ts";
import { NamespacePicker } from "../components/NamespacePicker.tsx";
import { Loading } from "../components/Status.tsx";
import { age } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";

function endpointList(ep: Endpoints | undefined): { ready: string[]; notReady: string[] } {
  const ready: string[] = [];
  const notReady: string[] = [];
  for (const s of ep?.subsets ?? []) {
    const ports = (s.ports ?? []).map((p) => p.port);
    const fmt = (ip: string) => (ports.length ? ports.map((p) => `${ip}:${p}`) : [ip]);
    for (const a of s.addresses ?? []) ready.push(...fmt(a.ip));
    for (const a of s.notReadyAddresses ?? []) notReady.push(...fmt(a.ip));
  }
  return { ready, notReady };
}

export function Services(p: { namespace: string; setNamespace: (ns: string) => void }) {
  const services = useResource<Service>("services");
  const endpoints = useResource<Endpoints>("endpoints");
  const now = useNow();
  const byKey = new Map(endpoints.items.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const list = services.items
    .filter((s) => !p.namespace || s.metadata.namespace === p.namespace)
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  return (
    <section aria-labelledby="h-services">
      <div class="view-head">
        <h1 id="h-services">Services</h1>
        <NamespacePicker value={p.namespace} onChange={p.setNamespace} />
      </div>
      <Loading synced={services.synced} error={services.error} what="services" />
      <div class="table-wrap">
        <table aria-label="Services">
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Cluster IP</th>
              <th scope="col">Ports</th>
              <th scope="col">Endpoints</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => {
              const ep = endpointList(byKey.get(`${s.metadata.namespace}/${s.metadata.name}`));
              return (
                <tr data-service={s.metadata.name}>
                  <td>{s.metadata.namespace}</td>
                  <th scope="row">{s.metadata.name}</th>
                  <td>{s.spec?.type ?? "ClusterIP"}</td>
                  <td>{s.spec?.clusterIP ?? "—"}</td>
                  <td>{(s.spec?.ports ?? []).map((pt) => `${pt.port}${pt.nodePort ? `:${pt.nodePort}` : ""}/${pt.protocol ?? "TCP"}`).join(", ") || "—"}</td>
                  <td class="wrap">
                    {ep.ready.length === 0 && ep.notReady.length === 0 && <span class="muted">none</span>}
                    {ep.ready.join(", ")}
                    {ep.notReady.length > 0 && <span class="muted"> (not ready: {ep.notReady.join(", ")})</span>}
                  </td>
                  <td>{age(s.metadata.creationTimestamp, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
