/**
 * From an Ingress backend (a Service and one of its ports, by number or name) to the addresses
 * that serve it: the ready endpoints of that Service port (pure).
 *
 * @example
 *   targetsOf(backend, service, endpoints) // { ok: true, targets: [{ host: "10.244.1.5", port: 8080 }] }
 */
import type { Endpoints, Service } from "../../bus/resources.ts";
import type { Backend } from "./routes.ts";

export interface Target {
  host: string;
  port: number;
}

export type Resolved = { ok: true; targets: Target[] } | { ok: false; reason: string };

export function targetsOf(b: Backend, service: Service | undefined, endpoints: Endpoints | undefined): Resolved {
  if (!service) return { ok: false, reason: `service "${b.namespace}/${b.service}" not found` };
  const ports = service.spec.ports ?? [];
  const sp = b.port.name ? ports.find((p) => p.name === b.port.name) : ports.find((p) => p.port === b.port.number);
  if (!sp) return { ok: false, reason: `service "${b.namespace}/${b.service}" has no port ${b.port.name ?? b.port.number ?? ""}` };
  if ((sp.protocol ?? "TCP") !== "TCP") return { ok: false, reason: `port ${sp.port} of service "${b.namespace}/${b.service}" is not TCP` };
  const targets: Target[] = [];
  for (const s of endpoints?.subsets ?? []) {
    // The endpoints controller names subset ports after the service's ports (unnamed when it has one).
    const ep = (s.ports ?? []).find((p) => (p.name ?? "") === (sp.name ?? "") && (p.protocol ?? "TCP") === "TCP");
    if (!ep) continue;
    for (const a of s.addresses ?? []) targets.push({ host: a.ip, port: ep.port });
  }
  return { ok: true, targets };
}
