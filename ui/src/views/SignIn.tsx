/** Sign in with a bearer token (kept in this tab's sessionStorage only). */
import { useState } from "preact/hooks";
import { ApiError, UnreachableError, whoami, type WhoAmI } from "../lib/api.ts";

export function SignIn(p: { onSignedIn: (token: string, me: WhoAmI) => void; notice?: string | undefined }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(p.notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError("Paste a token first.");
    setBusy(true);
    try {
      p.onSignedIn(t, await whoami(t));
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? "The api-server does not accept this token."
          : err instanceof UnreachableError
            ? "The api-server does not answer."
            : err instanceof Error
              ? err.message
              : String(err),
      );
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <form onSubmit={submit} aria-labelledby="h-signin">
        <h1 id="h-signin">Flotilla</h1>
        <p>Sign in with a bearer token from the cluster's data dir (tokens.csv: the first column; the admin token is also in the kubeconfig that <code>flotilla up</code> wrote).</p>
        <label class="field">
          Token
          <input type="password" name="token" autocomplete="off" spellcheck={false} value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autofocus />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        <p class="muted">The token stays in this browser tab (session storage) and is sent only to this server.</p>
      </form>
    </main>
  );
}
