import { expect } from "chai";
import type { Ask } from "../../ui/src/lib/access.ts";
import { AccessCache, Asks, allowedOf, keyOf, reviewBody } from "../../ui/src/lib/access.ts";

/** An `ask` whose answers the spec releases by hand, recording every question. */
function asker() {
  const asked: Ask[] = [];
  const pending: { a: Ask; resolve: (v: boolean) => void; reject: (e: Error) => void }[] = [];
  const ask = (a: Ask) =>
    new Promise<boolean>((resolve, reject) => {
      asked.push(a);
      pending.push({ a, resolve, reject });
    });
  const flush = () => new Promise((r) => setImmediate(r));
  return { ask, asked, pending, flush };
}

describe("dashboard › access (SelfSubjectAccessReview per action)", () => {
  it("asks kubectl auth can-i's question: a SelfSubjectAccessReview with the resource attributes", () => {
    expect(reviewBody(Asks.scaleDeployment("team"))).to.deep.equal({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { verb: "patch", group: "apps", resource: "deployments", subresource: "scale", namespace: "team" } },
    });
    expect(reviewBody(Asks.cordon())).to.deep.equal({ apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { verb: "patch", group: "", resource: "nodes" } } });
    expect(reviewBody(Asks.readSecret("a", "db"))).to.have.nested.property("spec.resourceAttributes.name", "db");
  });

  it("reads only status.allowed === true as yes", () => {
    expect(allowedOf({ status: { allowed: true } })).to.equal(true);
    expect(allowedOf({ status: { allowed: false, denied: true } })).to.equal(false);
    expect(allowedOf({ status: { allowed: "true" } })).to.equal(false);
    expect(allowedOf(null)).to.equal(false);
  });

  it("tells different namespaces, subresources and names apart", () => {
    const keys = new Set([Asks.deletePod("a"), Asks.deletePod("b"), Asks.podLogs("a"), Asks.readSecret("a", "x"), Asks.readSecret("a", "y"), Asks.listSecrets("a")].map(keyOf));
    expect(keys.size).to.equal(6);
  });

  it("answers undefined while asking, asks each question once, and then answers from what the server said", async () => {
    const s = asker();
    const cache = new AccessCache(s.ask);
    let changes = 0;
    cache.subscribe(() => changes++);
    expect(cache.can(Asks.deletePod("default"))).to.equal(undefined);
    expect(cache.can(Asks.deletePod("default"))).to.equal(undefined);
    expect(cache.can(Asks.cordon())).to.equal(undefined);
    expect(s.asked.length).to.equal(2);
    s.pending[0]!.resolve(true);
    s.pending[1]!.resolve(false);
    await s.flush();
    expect(cache.can(Asks.deletePod("default"))).to.equal(true);
    expect(cache.can(Asks.cordon())).to.equal(false);
    expect(changes).to.equal(2);
    expect(s.asked.length).to.equal(2);
  });

  it("counts a failed question as no, and asks again after the ttl, keeping the old answer meanwhile", async () => {
    const s = asker();
    let now = 0;
    const cache = new AccessCache(s.ask, () => now, 1000);
    cache.can(Asks.listSecrets("default"));
    s.pending[0]!.reject(new Error("unreachable"));
    await s.flush();
    expect(cache.can(Asks.listSecrets("default"))).to.equal(false);
    now = 1500;
    expect(cache.can(Asks.listSecrets("default"))).to.equal(false, "stale, being asked again");
    expect(s.asked.length).to.equal(2);
    s.pending[1]!.resolve(true);
    await s.flush();
    expect(cache.can(Asks.listSecrets("default"))).to.equal(true);
  });

  it("forgets every answer when another token signs in, and drops answers to questions asked before", async () => {
    const s = asker();
    const cache = new AccessCache(s.ask);
    cache.can(Asks.deletePod("default"));
    s.pending[0]!.resolve(true);
    await s.flush();
    cache.can(Asks.cordon());
    cache.reset();
    s.pending[1]!.resolve(true);
    await s.flush();
    expect(cache.can(Asks.deletePod("default"))).to.equal(undefined, "asked again for the new token");
    expect(cache.can(Asks.cordon())).to.equal(undefined, "the old token's answer is not used");
    expect(s.asked.length).to.equal(4);
  });
});
