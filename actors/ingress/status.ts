/**
 * What an ingress node writes in `status.loadBalancer.ingress` (pure): every node that serves an
 * Ingress adds its own address (sorted, once); one that no longer serves it (another class, the
 * Ingress changed, the node is stopping) takes its address out. Undefined: nothing to write.
 *
 * @example
 *   loadBalancerFor(ingress, { serves: true, ip: "127.0.0.1" }) // [{ ip: "127.0.0.1" }]
 */
import type { Ingress, IngressLoadBalancerIngress } from "../../bus/networking.ts";

export function loadBalancerFor(i: Ingress, o: { serves: boolean; ip: string }): IngressLoadBalancerIngress[] | undefined {
  const current = i.status?.loadBalancer?.ingress ?? [];
  const has = current.some((x) => x.ip === o.ip);
  if (o.serves === has) return undefined;
  const next = o.serves ? [...current, { ip: o.ip }] : current.filter((x) => x.ip !== o.ip);
  return next.sort((a, b) => String(a.ip ?? a.hostname).localeCompare(String(b.ip ?? b.hostname)));
}
