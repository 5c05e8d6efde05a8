/**
 * Writes of Services, which hold addresses: claim what the new version needs, write with CAS,
 * release what the old version held only once the write committed. A failure frees only this
 * attempt's claims. A write whose outcome is unknown (time-out, lost connection) is settled by
 * re-reading the Service: claims a committed version holds are kept, claims nothing can hold any
 * more are freed, and when the write may still land they are left to the repair loop.
 */
import type { KubeObject, Service } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { Objects } from "./objects.ts";
import type { Allocator, Claim } from "./allocator.ts";
import { isAmbiguous } from "./objects.ts";
import { heldKeys } from "./allocation.ts";

/** What a re-read after an ambiguous write found: the object, its absence, or nothing (unreadable). */
type Reread = { object: KubeObject | undefined } | undefined;

export class ServiceWrites {
  constructor(
    private readonly objects: Objects,
    private readonly allocator: Allocator,
  ) {}

  async create(rt: ResourceType, next: Service): Promise<KubeObject> {
    const { service, claims } = await this.allocator.claim(next);
    try {
      return await this.objects.create(rt, service);
    } catch (e) {
      if (!isAmbiguous(e)) {
        await this.allocator.unclaim(claims);
        throw e;
      }
      const seen = await this.reread(rt, service);
      if (seen?.object && seen.object.metadata.uid === service.metadata.uid) return seen.object;
      // Another object holds the name, so ours never landed (or landed and was removed, which freed its keys).
      if (seen?.object) await this.allocator.unclaim(claims);
      throw e;
    }
  }

  async update(rt: ResourceType, old: Service, next: Service, expected: number): Promise<KubeObject> {
    const { service, claims } = await this.allocator.claim(next, old);
    let written: KubeObject;
    try {
      written = await this.objects.update(rt, service, expected);
    } catch (e) {
      if (!isAmbiguous(e)) {
        await this.allocator.unclaim(claims);
        throw e;
      }
      await this.settleUpdate(rt, old, claims, expected);
      throw e;
    }
    await this.allocator.releaseDropped(old, written as Service);
    return written;
  }

  async remove(rt: ResourceType, old: Service, marker: KubeObject, expected: number): Promise<KubeObject> {
    let removed: KubeObject;
    try {
      removed = await this.objects.remove(rt, marker, expected);
    } catch (e) {
      if (!isAmbiguous(e)) throw e;
      const seen = await this.reread(rt, old);
      if (seen && seen.object?.metadata.uid !== old.metadata.uid) await this.allocator.releaseDropped(old);
      throw e;
    }
    await this.allocator.releaseDropped(old);
    return removed;
  }

  private async settleUpdate(rt: ResourceType, old: Service, claims: Claim[], expected: number): Promise<void> {
    const seen = await this.reread(rt, old);
    if (!seen) return; // unreadable: the claims stay for the repair loop
    const cur = seen.object as Service | undefined;
    if (!cur || cur.metadata.uid !== old.metadata.uid) {
      // Gone: a version of ours that landed was removed since, and its removal freed its keys.
      await this.allocator.unclaim(claims);
      return;
    }
    if (cur.metadata.resourceVersion === String(expected)) return; // ours may still land: leave it to repair
    const holds = new Set(heldKeys(cur));
    await this.allocator.unclaim(claims.filter((c) => !holds.has(c.key)));
    // Ours landed (the stored version holds what we claimed): finish its release.
    if (claims.some((c) => holds.has(c.key))) await this.allocator.releaseDropped(old, cur);
  }

  private async reread(rt: ResourceType, svc: KubeObject): Promise<Reread> {
    try {
      return { object: await this.objects.read(rt, svc.metadata.namespace, svc.metadata.name!) };
    } catch {
      return undefined;
    }
  }
}
