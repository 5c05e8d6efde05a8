import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resourceType } from "../../../bus/kinds.ts";
import { FlotillaError } from "../../../bus/errors.ts";
import { parseTokenFile, authenticate, authorize, splitCsvLine } from "../../../actors/api-server/auth.ts";
import { ensureTokens } from "../../../actors/api-server/tokens.ts";
import { statusFromError } from "../../../actors/api-server/status.ts";
import { staticView } from "./rbac-fixtures.ts";

const view = staticView({}, true);

const FILE = `# comment
admintoken,alice,1,"system:masters"
viewtoken,bob,2,"flotilla:view,other"
nogroups,carol,3
`;

function thrown(f: () => unknown): FlotillaError {
  try {
    f();
  } catch (e) {
    return e as FlotillaError;
  }
  throw new Error("expected a throw");
}

describe("api-server auth", () => {
  const users = parseTokenFile(FILE);
  const pods = resourceType("pods")!;

  it("splits quoted CSV fields like kube-apiserver's token file", () => {
    expect(splitCsvLine('t,u,1,"a,b"')).to.deep.equal(["t", "u", "1", "a,b"]);
  });

  it("reads users and groups from the token file", () => {
    expect(users.get("viewtoken")).to.deep.equal({ name: "bob", uid: "2", groups: ["flotilla:view", "other"] });
    expect(users.get("nogroups")?.groups).to.deep.equal([]);
    expect(users.size).to.equal(3);
  });

  it("authenticates a bearer token and rejects a missing or unknown one with 401", () => {
    expect(authenticate(users, "Bearer admintoken").name).to.equal("alice");
    expect(thrown(() => authenticate(users, undefined)).code).to.equal("Unauthorized");
    expect(thrown(() => authenticate(users, "Bearer nope")).code).to.equal("Unauthorized");
    expect(statusFromError(thrown(() => authenticate(users, "Basic x"))).code).to.equal(401);
  });

  it("puts every authenticated user in system:authenticated", () => {
    expect(authenticate(users, "Bearer viewtoken").groups).to.deep.equal(["flotilla:view", "other", "system:authenticated"]);
  });

  it("lets system:masters do everything", () => {
    const alice = users.get("admintoken")!;
    expect(() => authorize(view, alice, { type: "resource", rt: pods, namespace: "d", name: "p", verb: "delete" })).to.not.throw();
  });

  it("lets flotilla:view read but forbids writes with Kubernetes' message", () => {
    const bob = users.get("viewtoken")!;
    expect(() => authorize(view, bob, { type: "resource", rt: pods, namespace: "d", verb: "watch" })).to.not.throw();
    const e = thrown(() => authorize(view, bob, { type: "resource", rt: pods, namespace: "default", name: "x", verb: "create", subresource: "eviction" }));
    expect(e.code).to.equal("Forbidden");
    expect(e.message).to.equal('pods "x" is forbidden: User "bob" cannot create resource "pods/eviction" in API group "" in the namespace "default"');
    const { code, body } = statusFromError(e);
    expect(code).to.equal(403);
    expect(body.details).to.deep.equal({ kind: "pods", name: "x" });
  });

  it("forbids everything to a user in no known group", () => {
    const carol = users.get("nogroups")!;
    const e = thrown(() => authorize(view, carol, { type: "resource", rt: resourceType("nodes")!, verb: "list" }));
    expect(e.message).to.equal('nodes is forbidden: User "carol" cannot list resource "nodes" in API group "" at the cluster scope');
  });

  it("creates a token file with an admin and a view token once", () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-tokens-"));
    try {
      const a = ensureTokens(dir);
      const b = ensureTokens(dir);
      expect(a).to.deep.equal(b);
      const parsed = parseTokenFile(readFileSync(a.path, "utf8"));
      expect(parsed.get(a.admin)?.groups).to.deep.equal(["system:masters"]);
      expect(parsed.get(a.view)?.groups).to.deep.equal(["flotilla:view"]);
      expect(a.admin).to.not.equal(a.view);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
