/** The shell: sign-in, the unreachable banner, navigation and the current view. */
import type { WhoAmI } from "./lib/api.ts";
import type { Route } from "./lib/route.ts";
import { useEffect, useState } from "preact/hooks";
import { connection, whoami } from "./lib/api.ts";
import { useConnection, useNamespaceNames } from "./lib/hooks.ts";
import { NAV, hrefOf, parseHash } from "./lib/route.ts";
import { stopAllWatchers } from "./lib/watcher.ts";
import { Actors } from "./views/Actors.tsx";
import { Events } from "./views/Events.tsx";
import { Nodes } from "./views/Nodes.tsx";
import { Overview } from "./views/Overview.tsx";
import { PodDetail } from "./views/PodDetail.tsx";
import { Services } from "./views/Services.tsx";
import { Ingresses } from "./views/Ingresses.tsx";
import { Crds } from "./views/Crds.tsx";
import { SignIn } from "./views/SignIn.tsx";
import { Workloads } from "./views/Workloads.tsx";
import { SetsAndJobs } from "./views/SetsAndJobs.tsx";
import { Secrets } from "./views/Secrets.tsx";
import { Asks } from "./lib/access.ts";
import { useAccess } from "./lib/can.ts";

const NS_KEY = "flotilla.namespace";

function useRoute(): Route {
  const [route, setRoute] = useState(parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

function Banner() {
  const { reachable } = useConnection();
  if (reachable) return null;
  return (
    <div class="banner" role="alert">
      <strong>The api-server at {location.host} is unreachable.</strong> What you see may be out of date; the page reconnects by itself when
      it answers again.
    </div>
  );
}

export function App() {
  const { token } = useConnection();
  const [me, setMe] = useState<WhoAmI | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [namespace, setNs] = useState(sessionStorage.getItem(NS_KEY) ?? "");
  const route = useRoute();
  const namespaces = useNamespaceNames();
  const answer = useAccess();
  const can = (a: Parameters<typeof answer>[0]) => answer(a) === true;
  const setNamespace = (ns: string) => {
    sessionStorage.setItem(NS_KEY, ns);
    setNs(ns);
  };

  // A token from an earlier visit in this tab: find out who it is (and whether it still works).
  useEffect(() => {
    if (!token) {
      stopAllWatchers();
      setMe(undefined);
      return;
    }
    if (me) return;
    whoami().then(setMe, (e: unknown) => setNotice(e instanceof Error ? e.message : String(e)));
  }, [token]);

  useEffect(() => {
    const title = route.view === "pod" ? `${route.name} · Flotilla` : `${NAV.find((n) => n.view === route.view)?.label ?? ""} · Flotilla`;
    document.title = title;
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [route]);

  if (!token || !me) {
    return (
      <>
        <Banner />
        {token && !me && !notice ? (
          <p class="muted" role="status">
            Signing in…
          </p>
        ) : (
          <SignIn
            notice={notice}
            onSignedIn={(t, who) => {
              setMe(who);
              setNotice(undefined);
              connection.signIn(t);
            }}
          />
        )}
      </>
    );
  }

  let view;
  switch (route.view) {
    case "overview":
      view = <Overview />;
      break;
    case "nodes":
      view = <Nodes />;
      break;
    case "workloads":
      view = <Workloads namespace={namespace} setNamespace={setNamespace} />;
      break;
    case "sets-jobs":
      view = <SetsAndJobs namespace={namespace} setNamespace={setNamespace} />;
      break;
    case "services":
      view = <Services namespace={namespace} setNamespace={setNamespace} />;
      break;
    case "ingresses":
      view = <Ingresses namespace={namespace} setNamespace={setNamespace} />;
      break;
    case "crds":
      view = <Crds />;
      break;
    case "events":
      view = <Events namespace={namespace} setNamespace={setNamespace} />;
      break;
    case "secrets":
      view = <Secrets namespace={namespace} setNamespace={setNamespace} />;
      break;
    case "actors":
      view = <Actors />;
      break;
    case "pod":
      view = <PodDetail namespace={route.namespace} name={route.name} />;
      break;
  }
  const current = route.view === "pod" ? "workloads" : route.view;
  // "view only" once every action is known to be refused where the picker points (all namespaces: in each of them too).
  const scope = namespace ? [namespace] : ["", ...namespaces];
  const viewOnly = [Asks.cordon(), ...scope.flatMap((ns) => [Asks.deletePod(ns), Asks.scaleDeployment(ns)])].every((a) => answer(a) === false);
  const nav = NAV.filter((n) => n.view !== "secrets" || can(Asks.listSecrets(namespace)) || current === "secrets");
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <Banner />
      <header class="top">
        <span class="brand">Flotilla</span>
        <nav aria-label="Views">
          <ul>
            {nav.map((n) => (
              <li>
                <a href={hrefOf({ view: n.view })} aria-current={current === n.view ? "page" : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {me.user}
          {viewOnly && <span class="badge warn">view only</span>}
          <button
            type="button"
            onClick={() => {
              setMe(undefined);
              connection.signOut();
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </>
  );
}
