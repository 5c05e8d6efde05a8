/**
 * Quota admission (Kubernetes' ResourceQuota admission plugin): before a create in a namespace
 * with quotas, each quota that tracks what the object uses is charged with a CAS write of its
 * `status.used`, and a create that would pass a hard limit is refused with 403 "exceeded quota".
 * The CAS on the quota serialises concurrent creates; the quota controller recomputes `used` from
 * the objects themselves (a charge whose create then failed is given back there).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KubeObject } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { Buckets } from "../../bus/kv.ts";
import type { Objects } from "./objects.ts";
import type { Amounts, ResourceQuota } from "../../bus/quota.ts";
import { resourceType } from "../../bus/kinds.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { usageOf, usageOfAll, parseAmounts, formatAmounts, exceeded, exceededMessage, missingSpecs } from "../../bus/quota.ts";
import { listPage } from "./list.ts";
import { isConflict, qualified } from "./errors.ts";

export type { ResourceQuota } from "../../bus/quota.ts";

/** Where the quotas of a namespace are known (the store's informer). */
export interface QuotaSource {
  list(namespace?: string): ResourceQuota[];
}

const QUOTAS = resourceType("resourcequotas")!;
/** Keys a pod must give amounts for when a quota tracks them. */
const COMPUTE = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"];

export class QuotaAdmission {
  constructor(
    private readonly nc: NatsConnection,
    private readonly buckets: Buckets,
    private readonly objects: Objects,
    private readonly quotas: QuotaSource,
  ) {}

  /** Charges every quota of the namespace that counts `o`; throws Forbidden when one would be passed. */
  async charge(rt: ResourceType, namespace: string, o: KubeObject): Promise<void> {
    if (rt.resource === "events") return;
    const delta = usageOf(rt.resource, rt.group, o);
    for (const cached of this.quotas.list(namespace)) {
      const hard = parseAmounts(cached.spec?.hard);
      const touched = Object.keys(hard).filter((k) => (delta[k] ?? 0) > 0 || (rt.resource === "pods" && COMPUTE.includes(k)));
      if (!touched.length) continue;
      await this.chargeOne(rt, namespace, cached.metadata.name!, o, delta);
    }
  }

  private async chargeOne(rt: ResourceType, namespace: string, name: string, o: KubeObject, delta: Amounts): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const q = (await this.objects.read(QUOTAS, namespace, name)) as ResourceQuota | undefined;
      if (!q) return;
      const hard = parseAmounts(q.spec?.hard);
      const what = `${qualified(rt)} "${o.metadata.name ?? o.metadata.generateName ?? ""}" is forbidden`;
      if (rt.resource === "pods") {
        const missing = missingSpecs(hard, o);
        if (missing.length) throw forbidden(rt, o, `${what}: failed quota: ${name}: must specify ${missing.join("; ")}`);
      }
      const used = parseAmounts(q.status?.used);
      const unknown = Object.keys(hard).filter((k) => used[k] === undefined && (delta[k] ?? 0) > 0);
      if (unknown.length) Object.assign(used, await this.measure(rt, namespace, unknown));
      const over = exceeded(hard, used, delta);
      if (over) throw forbidden(rt, o, `${what}: ${exceededMessage(name, over)}`);
      const next: Amounts = { ...used };
      for (const k of Object.keys(hard)) if ((delta[k] ?? 0) > 0) next[k] = (next[k] ?? 0) + delta[k]!;
      for (const k of Object.keys(hard)) next[k] ??= 0;
      const written: ResourceQuota = { ...q, status: { hard: { ...(q.spec?.hard ?? {}) }, used: formatAmounts(next) } };
      try {
        await this.objects.update(QUOTAS, written, Number(q.metadata.resourceVersion));
        return;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
    throw new FlotillaError(ErrorCode.Conflict, `Operation cannot be fulfilled on resourcequotas "${name}": too many concurrent changes, try again`, { details: { kind: "resourcequotas", name } });
  }

  /** The current usage of the namespace's objects of this type (a quota whose status is not yet computed). */
  private async measure(rt: ResourceType, namespace: string, keys: string[]): Promise<Amounts> {
    const list = await listPage(this.nc, this.buckets, rt, namespace, {});
    return usageOfAll(rt.resource, rt.group, list.items, keys);
  }
}

function forbidden(rt: ResourceType, o: KubeObject, message: string): FlotillaError {
  const name = o.metadata.name ?? "";
  return new FlotillaError(ErrorCode.Forbidden, message, { details: { name, kind: rt.resource, ...(rt.group ? { group: rt.group } : {}) } });
}
