import { expect } from "chai";
import { create, update, rejected, fieldsOf, causeAt, minimal, stored, clone } from "./admission.fixtures.ts";

describe("store admission › Role, ClusterRole, RoleBinding, ClusterRoleBinding", () => {
  describe("Role and ClusterRole", () => {
    it("accepts names with ':' such as system:node-reader", () => {
      expect(create("clusterroles", minimal("clusterroles")).metadata.name).to.equal("system:node-reader");
    });

    it("requires verbs, and apiGroups and resources on a resource rule, with Kubernetes' messages", () => {
      const r = minimal("roles");
      r.rules = [{ resources: ["pods"] }];
      const e = rejected(() => create("roles", r));
      expect(e.message).to.equal(
        'Role.rbac.authorization.k8s.io "pod-reader" is invalid: [rules[0].verbs: Required value: verbs must contain at least one value, rules[0].apiGroups: Required value: resource rules must supply at least one api group]',
      );
    });

    it("refuses non-resource URLs in a namespaced Role and mixed with resources anywhere", () => {
      const r = minimal("roles");
      r.rules = [{ nonResourceURLs: ["/healthz"], verbs: ["get"] }];
      expect(causeAt(rejected(() => create("roles", r)), "rules[0].nonResourceURLs").message).to.contain("namespaced rules cannot apply to non-resource URLs");
      const c = minimal("clusterroles");
      c.rules = [{ nonResourceURLs: ["/healthz"], resources: ["pods"], verbs: ["get"] }];
      expect(causeAt(rejected(() => create("clusterroles", c)), "rules[0].nonResourceURLs").message).to.contain("rules cannot apply to both regular resources and non-resource URLs");
    });

    it("needs at least one selector in an aggregationRule", () => {
      const c = minimal("clusterroles");
      c.aggregationRule = { clusterRoleSelectors: [] };
      expect(fieldsOf(rejected(() => create("clusterroles", c)))).to.deep.equal(["aggregationRule.clusterRoleSelectors"]);
      c.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { "rbac.example.com/aggregate-to-monitoring": "true" } }] };
      expect(create("clusterroles", c).aggregationRule.clusterRoleSelectors).to.have.length(1);
    });
  });

  describe("RoleBinding and ClusterRoleBinding", () => {
    it("defaults the apiGroup of the roleRef and of User and Group subjects, and leaves ServiceAccounts' empty", () => {
      const b = minimal("rolebindings");
      b.roleRef = { kind: "ClusterRole", name: "view" };
      b.subjects = [{ kind: "User", name: "jane" }, { kind: "Group", name: "devs" }, { kind: "ServiceAccount", name: "robot" }];
      const out = create("rolebindings", b);
      expect(out.roleRef.apiGroup).to.equal("rbac.authorization.k8s.io");
      expect(out.subjects.map((s: { apiGroup: string }) => s.apiGroup)).to.deep.equal(["rbac.authorization.k8s.io", "rbac.authorization.k8s.io", ""]);
    });

    it("refuses an unknown roleRef kind, a ClusterRoleBinding to a Role, a missing role name and an unknown subject kind", () => {
      const b = minimal("rolebindings");
      b.roleRef = { kind: "Thing", apiGroup: "rbac.authorization.k8s.io", name: "" };
      b.subjects = [{ kind: "Robot", name: "r2" }];
      expect(fieldsOf(rejected(() => create("rolebindings", b)))).to.deep.equal(["roleRef.kind", "roleRef.name", "subjects[0].kind"]);
      const c = minimal("clusterrolebindings");
      c.roleRef.kind = "Role";
      expect(causeAt(rejected(() => create("clusterrolebindings", c)), "roleRef.kind").message).to.equal('Unsupported value: "Role": supported values: "ClusterRole"');
    });

    it("needs a namespace for a ServiceAccount subject of a ClusterRoleBinding only", () => {
      const c = minimal("clusterrolebindings");
      c.subjects = [{ kind: "ServiceAccount", name: "robot" }];
      expect(fieldsOf(rejected(() => create("clusterrolebindings", c)))).to.deep.equal(["subjects[0].namespace"]);
      const b = minimal("rolebindings");
      b.subjects = [{ kind: "ServiceAccount", name: "robot" }];
      expect(create("rolebindings", b).subjects[0].name).to.equal("robot");
    });

    it("keeps roleRef immutable", () => {
      const old = stored("rolebindings");
      const next = clone(old);
      next.roleRef = { ...next.roleRef, name: "other" };
      expect(rejected(() => update("rolebindings", next, old)).message).to.contain("roleRef: Invalid value");
      const subjects = clone(old);
      subjects.subjects = [{ kind: "User", name: "joe", apiGroup: "rbac.authorization.k8s.io" }];
      expect(update("rolebindings", subjects, old).subjects[0].name).to.equal("joe");
    });
  });
});
