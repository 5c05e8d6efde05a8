/**
 * The live actor inventory. Not a watch: the api-server answers it with an `actors.ping`
 * scatter-gather, so the view asks when it opens, when you press Refresh, and once a minute.
 */
import type { PresenceInfo as ActorInfo } from "../../../runtime/host.ts";
import { useEffect, useState } from "preact/hooks";
import { getJson } from "../lib/api.ts";
import { uptime } from "../lib/format.ts";

export const ACTORS_REFRESH_MS = 60_000;

export function Actors() {
  const [items, setItems] = useState<ActorInfo[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [at, setAt] = useState<Date | undefined>();
  const load = async () => {
    setBusy(true);
    try {
      setItems((await getJson<{ items: ActorInfo[] }>("/flotilla/v1/actors")).items);
      setError(undefined);
      setAt(new Date());
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), ACTORS_REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  return (
    <section aria-labelledby="h-actors">
      <div class="view-head">
        <h1 id="h-actors">Actors</h1>
        <button type="button" onClick={() => void load()} disabled={busy}>
          {busy ? "Asking…" : "Refresh"}
        </button>
        <span class="muted">{at ? `answered at ${at.toLocaleTimeString()} (a ping to every actor; refreshed each minute)` : ""}</span>
      </div>
      {error && (
        <p class="error" role="status">
          {error}
        </p>
      )}
      {items && (
        <div class="table-wrap">
          <table aria-label="Actors">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Id</th>
                <th scope="col">Host</th>
                <th scope="col">Leader</th>
                <th scope="col">Uptime</th>
                <th scope="col">Version</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr data-kind={a.kind}>
                  <th scope="row">{a.kind}</th>
                  <td>{a.id}</td>
                  <td>
                    {a.host} <span class="muted">(pid {a.pid})</span>
                  </td>
                  <td>{a.leader === null ? "—" : a.leader ? "leader" : "standby"}</td>
                  <td>{uptime(a.uptimeSeconds)}</td>
                  <td>{a.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
