/** Hash routes (`#/workloads`, `#/pods/<ns>/<name>`): the page never puts a token in a URL. Pure. */
export type Route =
  | { view: "overview" }
  | { view: "nodes" }
  | { view: "workloads" }
  | { view: "sets-jobs" }
  | { view: "services" }
  | { view: "ingresses" }
  | { view: "crds" }
  | { view: "events" }
  | { view: "secrets" }
  | { view: "actors" }
  | { view: "pod"; namespace: string; name: string };

export const NAV = [
  { view: "overview", label: "Overview" },
  { view: "nodes", label: "Nodes" },
  { view: "workloads", label: "Workloads" },
  { view: "sets-jobs", label: "Sets & Jobs" },
  { view: "services", label: "Services" },
  { view: "ingresses", label: "Ingresses" },
  { view: "crds", label: "Custom resources" },
  { view: "events", label: "Events" },
  { view: "secrets", label: "Secrets" },
  { view: "actors", label: "Actors" },
] as const;

export function parseHash(hash: string): Route {
  const segs = hash.replace(/^#\/?/, "").split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s));
  if (segs[0] === "pods" && segs.length === 3) return { view: "pod", namespace: segs[1]!, name: segs[2]! };
  const simple = NAV.find((n) => n.view === segs[0]);
  return simple ? { view: simple.view } : { view: "overview" };
}

export function hrefOf(r: Route): string {
  return r.view === "pod" ? `#/pods/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}` : `#/${r.view}`;
}
