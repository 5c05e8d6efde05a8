/** Ingresses: class, hosts and paths with their backends, TLS, and the addresses that serve them. */
import type { Ingress } from "../../../bus/networking.ts";
import { NamespacePicker } from "../components/NamespacePicker.tsx";
import { Loading } from "../components/Status.tsx";
import { age } from "../lib/format.ts";
import { useNow, useResource } from "../lib/hooks.ts";

const backendText = (b: { service?: { name: string; port?: { name?: string; number?: number } } } | undefined) =>
  b?.service ? `${b.service.name}:${b.service.port?.name ?? b.service.port?.number ?? ""}` : "—";

export function Ingresses(p: { namespace: string; setNamespace: (ns: string) => void }) {
  const ingresses = useResource<Ingress>("ingresses");
  const now = useNow();
  const list = ingresses.items
    .filter((i) => !p.namespace || i.metadata.namespace === p.namespace)
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  return (
    <section aria-labelledby="h-ingresses">
      <div class="view-head">
        <h1 id="h-ingresses">Ingresses</h1>
        <NamespacePicker value={p.namespace} onChange={p.setNamespace} />
      </div>
      <Loading synced={ingresses.synced} error={ingresses.error} what="ingresses" />
      <div class="table-wrap">
        <table aria-label="Ingresses">
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Class</th>
              <th scope="col">Rules</th>
              <th scope="col">TLS</th>
              <th scope="col">Address</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => {
              const rules = (i.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((pa) => `${r.host ?? "*"}${pa.path ?? "/"} (${pa.pathType}) → ${backendText(pa.backend)}`));
              if (i.spec?.defaultBackend) rules.push(`default → ${backendText(i.spec.defaultBackend)}`);
              const tls = (i.spec?.tls ?? []).map((t) => `${(t.hosts ?? ["*"]).join(", ")}: ${t.secretName ?? "—"}`);
              const addresses = (i.status?.loadBalancer?.ingress ?? []).map((x) => x.ip ?? x.hostname ?? "");
              return (
                <tr data-ingress={i.metadata.name}>
                  <td>{i.metadata.namespace}</td>
                  <th scope="row">{i.metadata.name}</th>
                  <td>{i.spec?.ingressClassName ?? <span class="muted">none</span>}</td>
                  <td class="wrap">{rules.map((r) => <div>{r}</div>)}</td>
                  <td class="wrap">{tls.length ? tls.join("; ") : <span class="muted">none</span>}</td>
                  <td>{addresses.length ? addresses.join(", ") : <span class="muted">pending</span>}</td>
                  <td>{age(i.metadata.creationTimestamp, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
