/**
 * Table printers for Ingress, IngressClass, NetworkPolicy and EndpointSlice, as kube-apiserver
 * prints them (pkg/printers/internalversion/printers.go, 1.32).
 */
import type { Printer } from "./table-kit.ts";
import type { EndpointSlice, Ingress, IngressClass, NetworkPolicy } from "../../bus/networking.ts";
import { col, NAME, AGE, age, orNone } from "./table-kit.ts";
import { selectorToString } from "../../bus/selectors.ts";

/** The first three, then `+ N more...`, as kubectl's list formatting does. */
function firstThree(items: string[], empty: string): string {
  if (items.length === 0) return empty;
  const head = items.slice(0, 3).join(",");
  return items.length > 3 ? `${head} + ${items.length - 3} more...` : head;
}

export const NETWORKING_PRINTERS: Record<string, Printer> = {
  ingresses: {
    columns: [
      NAME,
      col("Class", "The name of the IngressClass resource that should be used for this Ingress."),
      col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
      col("Address", "Address is a list containing ingress points for the load-balancer"),
      col("Ports", "Ports of TLS configurations that open"),
      AGE,
    ],
    cells: (o, now) => {
      const i = o as Ingress;
      const hosts = (i.spec?.rules ?? []).map((r) => r.host).filter((h): h is string => !!h);
      const lb = (i.status?.loadBalancer?.ingress ?? []).map((x) => x.ip || x.hostname || "").filter(Boolean);
      return [o.metadata.name ?? "", i.spec?.ingressClassName ?? "<none>", firstThree(hosts, "*"), lb.join(","), i.spec?.tls?.length ? "80, 443" : "80", age(o, now)];
    },
  },
  ingressclasses: {
    columns: [
      NAME,
      col("Controller", "Controller that is responsible for handling this class"),
      col("Parameters", "A reference to a resource with additional parameters"),
      AGE,
    ],
    cells: (o, now) => {
      const c = o as IngressClass;
      const p = c.spec?.parameters;
      const params = p ? `${p.apiGroup ? `${p.apiGroup}/` : ""}${p.kind}/${p.name}` : "<none>";
      return [o.metadata.name ?? "", c.spec?.controller ?? "", params, age(o, now)];
    },
  },
  networkpolicies: {
    columns: [NAME, col("Pod-Selector", "Selects the pods to which this NetworkPolicy object applies."), AGE],
    cells: (o, now) => [o.metadata.name ?? "", orNone(selectorToString((o as NetworkPolicy).spec?.podSelector)), age(o, now)],
  },
  endpointslices: {
    columns: [
      NAME,
      col("AddressType", "The type of address held in the EndpointSlice"),
      col("Ports", "The ports held by the EndpointSlice"),
      col("Endpoints", "The addresses held by the EndpointSlice"),
      AGE,
    ],
    cells: (o, now) => {
      const s = o as EndpointSlice;
      const ports = (s.ports ?? []).map((p) => (p.port === undefined || p.port === null ? "<unset>" : String(p.port)));
      const addrs = (s.endpoints ?? []).flatMap((e) => e.addresses);
      return [o.metadata.name ?? "", s.addressType ?? "", firstThree(ports, "<unset>"), firstThree(addrs, "<unset>"), age(o, now)];
    },
  },
};


