/**
 * Secrets of a namespace, for those RBAC lets list them (the `view` role does not: for such a user
 * the view says so and asks nothing). The list comes as a Table (name, type, number of keys, age),
 * so no value reaches the page until someone allowed to `get` that Secret presses "Show values".
 */
import { useEffect, useState } from "preact/hooks";
import { NamespacePicker } from "../components/NamespacePicker.tsx";
import { Asks } from "../lib/access.ts";
import { useAccess } from "../lib/can.ts";
import { getJson } from "../lib/api.ts";

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io";

interface Row {
  namespace: string;
  name: string;
  type: string;
  keys: string;
  age: string;
}
interface TableBody {
  rows?: { cells: unknown[]; object?: { metadata?: { name?: string; namespace?: string } } }[];
}

const enc = encodeURIComponent;

/** A value as text: UTF-8 when it is, else its size. */
export function secretText(b64: string): string {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return `(binary, ${bytes.length} bytes)`;
  }
}

function Values(p: { namespace: string; name: string; onClose: () => void }) {
  const [data, setData] = useState<Record<string, string> | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    getJson<{ data?: Record<string, string> }>(`/api/v1/namespaces/${enc(p.namespace)}/secrets/${enc(p.name)}`).then(
      (s) => setData(s.data ?? {}),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [p.namespace, p.name]);
  return (
    <div role="region" aria-label={`Values of ${p.name}`}>
      {error && <p class="error">{error}</p>}
      {data && (
        <dl class="facts">
          {Object.entries(data).map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>
                <code>{secretText(v)}</code>
              </dd>
            </>
          ))}
        </dl>
      )}
      <button type="button" onClick={p.onClose}>
        Hide values<span class="sr-only"> of {p.name}</span>
      </button>
    </div>
  );
}

export function Secrets(p: { namespace: string; setNamespace: (ns: string) => void }) {
  const answer = useAccess();
  const can = (a: Parameters<typeof answer>[0]) => answer(a) === true;
  const ns = p.namespace;
  const listAnswer = answer(Asks.listSecrets(ns));
  const mayList = listAnswer === true;
  const [rows, setRows] = useState<Row[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const load = async () => {
    try {
      const t = await getJson<TableBody>(ns ? `/api/v1/namespaces/${enc(ns)}/secrets` : "/api/v1/secrets", { headers: { Accept: TABLE } });
      setRows(
        (t.rows ?? []).map((r) => ({
          namespace: r.object?.metadata?.namespace ?? ns,
          name: String(r.cells[0] ?? ""),
          type: String(r.cells[1] ?? ""),
          keys: String(r.cells[2] ?? ""),
          age: String(r.cells[3] ?? ""),
        })),
      );
      setError(undefined);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  useEffect(() => {
    setRows(undefined);
    setOpen(undefined);
    if (mayList) void load();
  }, [ns, mayList]);
  const showNs = ns === "";
  return (
    <section aria-labelledby="h-secrets">
      <div class="view-head">
        <h1 id="h-secrets">Secrets</h1>
        <NamespacePicker value={ns} onChange={p.setNamespace} />
        {mayList && (
          <button type="button" onClick={() => void load()}>
            Refresh
          </button>
        )}
      </div>
      {listAnswer === false && (
        <p class="muted" role="status">
          You may not list Secrets {ns ? `in ${ns}` : "in every namespace"}.
        </p>
      )}
      {error && (
        <p class="error" role="status">
          {error}
        </p>
      )}
      {mayList && rows && (
        <div class="table-wrap">
          <table aria-label="Secrets">
            <thead>
              <tr>
                {showNs && <th scope="col">Namespace</th>}
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Keys</th>
                <th scope="col">Age</th>
                <th scope="col">Values</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const key = `${r.namespace}/${r.name}`;
                return (
                  <tr data-secret={r.name}>
                    {showNs && <td>{r.namespace}</td>}
                    <th scope="row">{r.name}</th>
                    <td>{r.type}</td>
                    <td>{r.keys}</td>
                    <td>{r.age}</td>
                    <td class="wrap">
                      {open === key ? (
                        <Values namespace={r.namespace} name={r.name} onClose={() => setOpen(undefined)} />
                      ) : can(Asks.readSecret(r.namespace, r.name)) ? (
                        <button type="button" onClick={() => setOpen(key)}>
                          Show values<span class="sr-only"> of {r.name}</span>
                        </button>
                      ) : (
                        <span class="muted">hidden</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
