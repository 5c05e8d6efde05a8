/**
 * ServiceWrites around a Service's addresses, with the KV and the allocator faked: what is claimed,
 * freed and released when a write succeeds, fails, or ends without saying whether it landed.
 */
import { expect } from "chai";
import type { KubeObject, Service } from "../../../bus/resources.ts";
import type { ResourceType } from "../../../bus/kinds.ts";
import type { Objects } from "../../../actors/store/objects.ts";
import type { Allocator, Claim } from "../../../actors/store/allocator.ts";
import { ServiceWrites } from "../../../actors/store/services.ts";
import { nodePortKey, ipKey } from "../../../actors/store/allocation.ts";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";
import { resourceType } from "../../../bus/kinds.ts";

const rt = resourceType("services") as ResourceType;
const svc = (rv: string, nodePort: number, uid = "u1"): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "default", uid, resourceVersion: rv },
  spec: { type: "NodePort", clusterIP: "127.96.0.5", ports: [{ port: 80, nodePort }] },
});

/** Records what the allocator was asked to do; `claim` hands out `claims`. */
function fakeAllocator(claims: Claim[]) {
  const calls: string[] = [];
  const allocator = {
    async claim(next: Service) {
      calls.push("claim");
      return { service: next, claims };
    },
    async unclaim(cs: readonly Claim[]) {
      calls.push(`unclaim ${cs.map((c) => c.key).join(",")}`);
    },
    async releaseDropped(old: Service, kept?: Service) {
      calls.push(`release ${old.metadata.resourceVersion}${kept ? ` keeping ${kept.metadata.resourceVersion}` : ""}`);
    },
  };
  return { allocator: allocator as unknown as Allocator, calls };
}

function fakeObjects(o: { write?: () => Promise<KubeObject>; read?: () => Promise<KubeObject | undefined> }) {
  const fail = () => Promise.reject(new Error("not expected"));
  return { create: o.write ?? fail, update: o.write ?? fail, remove: o.write ?? fail, read: o.read ?? fail } as unknown as Objects;
}

const timeout = () => Promise.reject(new FlotillaError(ErrorCode.Timeout, "write: TIMEOUT"));
const claimed = [{ key: nodePortKey(30002), revision: 41 }];

async function rejects(p: Promise<unknown>): Promise<FlotillaError> {
  try {
    await p;
  } catch (e) {
    return e as FlotillaError;
  }
  expect.fail("expected a rejection");
}

describe("store Service writes", () => {
  it("releases the old version's addresses only after the write committed", async () => {
    const { allocator, calls } = fakeAllocator(claimed);
    const w = new ServiceWrites(fakeObjects({ write: async () => svc("8", 30002) }), allocator);
    await w.update(rt, svc("7", 30001), svc("7", 30002), 7);
    expect(calls).to.deep.equal(["claim", "release 7 keeping 8"]);
  });

  it("frees only its own claims when the write is refused, and releases nothing the stored version holds", async () => {
    const { allocator, calls } = fakeAllocator(claimed);
    const w = new ServiceWrites(fakeObjects({ write: () => Promise.reject(new FlotillaError(ErrorCode.Conflict, "stale")) }), allocator);
    expect((await rejects(w.update(rt, svc("7", 30001), svc("7", 30002), 7))).code).to.equal(ErrorCode.Conflict);
    expect(calls).to.deep.equal(["claim", `unclaim ${nodePortKey(30002)}`]);
  });

  describe("when a write times out", () => {
    it("keeps the claims while the Service is unchanged, since the write may still land", async () => {
      const { allocator, calls } = fakeAllocator(claimed);
      const w = new ServiceWrites(fakeObjects({ write: timeout, read: async () => svc("7", 30001) }), allocator);
      expect((await rejects(w.update(rt, svc("7", 30001), svc("7", 30002), 7))).code).to.equal(ErrorCode.Timeout);
      expect(calls).to.deep.equal(["claim"]);
    });

    it("finishes the release when the stored version holds what it claimed (the write landed)", async () => {
      const { allocator, calls } = fakeAllocator([...claimed, { key: ipKey("127.96.0.77"), revision: 42 }]);
      const w = new ServiceWrites(fakeObjects({ write: timeout, read: async () => svc("9", 30002) }), allocator);
      await rejects(w.update(rt, svc("7", 30001), svc("7", 30002), 7));
      expect(calls).to.deep.equal(["claim", `unclaim ${ipKey("127.96.0.77")}`, "release 7 keeping 9"]);
    });

    it("frees its claims when the Service changed without them or is gone", async () => {
      for (const read of [async () => svc("9", 30001), async () => undefined, async () => svc("9", 30002, "another-uid")]) {
        const { allocator, calls } = fakeAllocator(claimed);
        const w = new ServiceWrites(fakeObjects({ write: timeout, read }), allocator);
        await rejects(w.update(rt, svc("7", 30001), svc("7", 30002), 7));
        expect(calls).to.deep.equal(["claim", `unclaim ${nodePortKey(30002)}`]);
      }
    });

    it("leaves the claims to the repair loop when the Service cannot be read", async () => {
      const { allocator, calls } = fakeAllocator(claimed);
      const w = new ServiceWrites(fakeObjects({ write: timeout, read: () => Promise.reject(new Error("closed connection")) }), allocator);
      await rejects(w.update(rt, svc("7", 30001), svc("7", 30002), 7));
      expect(calls).to.deep.equal(["claim"]);
    });

    it("answers a create that landed with the stored object, and frees the claims of one that lost the name", async () => {
      const mine = svc("", 30002);
      const landed = fakeAllocator(claimed);
      const ok = await new ServiceWrites(fakeObjects({ write: timeout, read: async () => ({ ...mine, metadata: { ...mine.metadata, resourceVersion: "12" } }) }), landed.allocator).create(rt, mine);
      expect(ok.metadata.resourceVersion).to.equal("12");
      expect(landed.calls).to.deep.equal(["claim"]);
      const lost = fakeAllocator(claimed);
      await rejects(new ServiceWrites(fakeObjects({ write: timeout, read: async () => svc("12", 30009, "someone-else") }), lost.allocator).create(rt, mine));
      expect(lost.calls).to.deep.equal(["claim", `unclaim ${nodePortKey(30002)}`]);
    });

    it("releases a removed Service's addresses once the re-read shows it gone", async () => {
      const { allocator, calls } = fakeAllocator([]);
      const w = new ServiceWrites(fakeObjects({ write: timeout, read: async () => undefined }), allocator);
      await rejects(w.remove(rt, svc("7", 30001), svc("7", 30001), 7));
      expect(calls).to.deep.equal(["release 7"]);
    });
  });
});
