import { expect } from "chai";
import type { Attributes, UserInfo } from "../../../actors/api-server/rbac/authorizer.ts";
import { authorize, rulesFor, serviceAccountGroups, serviceAccountUser } from "../../../actors/api-server/rbac/authorizer.ts";
import { uncovered, atomize, formatRule } from "../../../actors/api-server/rbac/escalation.ts";
import { checkNoEscalation } from "../../../actors/api-server/rbac/guard.ts";
import { FlotillaError } from "../../../bus/errors.ts";
import { staticView, role, clusterRole, roleBinding, clusterRoleBinding, userSubject, groupSubject, saSubject } from "./rbac-fixtures.ts";

const jane: UserInfo = { name: "jane", groups: ["devs", "system:authenticated"] };
const res = (verb: string, resource: string, o: Partial<NonNullable<Attributes["resource"]>> = {}, user = jane): Attributes => ({
  user,
  verb,
  resource: { group: "", resource, ...o },
});
const url = (verb: string, path: string, user = jane): Attributes => ({ user, verb, path });

describe("RBAC authorizer", () => {
  describe("without any binding", () => {
    it("denies an authenticated user everything but lets system:masters do anything", () => {
      const v = staticView({});
      expect(authorize(v, res("get", "pods", { namespace: "default" })).allowed).to.equal(false);
      expect(authorize(v, url("get", "/api")).allowed).to.equal(false);
      const admin = { name: "root", groups: ["system:masters"] };
      expect(authorize(v, res("delete", "nodes", { name: "n1" }, admin)).allowed).to.equal(true);
      expect(authorize(v, url("post", "/anything", admin)).allowed).to.equal(true);
    });
  });

  describe("verbs, groups and resources", () => {
    const v = staticView({
      roles: [
        role("team", "reader", [{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] }]),
        role("team", "deployer", [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["*"] }]),
        role("team", "scaler", [{ apiGroups: ["*"], resources: ["*/scale"], verbs: ["update"] }]),
        role("team", "all", [{ apiGroups: ["batch"], resources: ["*"], verbs: ["get"] }]),
      ],
      roleBindings: ["reader", "deployer", "scaler", "all"].map((r) => roleBinding("team", r, { kind: "Role", name: r }, [userSubject("jane")])),
    });

    it("allows only the listed verbs on the listed resources", () => {
      expect(authorize(v, res("list", "pods", { namespace: "team" })).allowed).to.equal(true);
      expect(authorize(v, res("watch", "pods", { namespace: "team" })).allowed).to.equal(false);
      expect(authorize(v, res("get", "services", { namespace: "team", name: "web" })).allowed).to.equal(false);
    });

    it("treats a subresource as its own resource: pods/log is granted, pods/exec is not", () => {
      expect(authorize(v, res("get", "pods", { namespace: "team", name: "p", subresource: "log" })).allowed).to.equal(true);
      expect(authorize(v, res("get", "pods", { namespace: "team", name: "p", subresource: "exec" })).allowed).to.equal(false);
    });

    it("matches the verb '*', the group '*', the resource '*' and '*/scale'", () => {
      expect(authorize(v, res("deletecollection", "deployments", { namespace: "team", group: "apps" })).allowed).to.equal(true);
      expect(authorize(v, res("delete", "deployments", { namespace: "team", group: "extensions" })).allowed).to.equal(false);
      expect(authorize(v, res("update", "statefulsets", { namespace: "team", group: "apps", name: "db", subresource: "scale" })).allowed).to.equal(true);
      expect(authorize(v, res("update", "statefulsets", { namespace: "team", group: "apps", name: "db" })).allowed).to.equal(false);
      expect(authorize(v, res("get", "cronjobs", { namespace: "team", group: "batch", name: "x" })).allowed).to.equal(true);
      expect(authorize(v, res("get", "cronjobs", { namespace: "team", group: "batch", name: "x", subresource: "status" })).allowed, "'*' covers subresources too").to.equal(true);
    });
  });

  describe("resourceNames", () => {
    const v = staticView({
      roles: [role("team", "one-cm", [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["settings"], verbs: ["get", "list", "update"] }])],
      roleBindings: [roleBinding("team", "b", { kind: "Role", name: "one-cm" }, [userSubject("jane")])],
    });
    it("allows the named object only, and never a list or a create (they name no object)", () => {
      expect(authorize(v, res("get", "configmaps", { namespace: "team", name: "settings" })).allowed).to.equal(true);
      expect(authorize(v, res("get", "configmaps", { namespace: "team", name: "other" })).allowed).to.equal(false);
      expect(authorize(v, res("list", "configmaps", { namespace: "team" })).allowed).to.equal(false);
    });
  });

  describe("namespaces", () => {
    const v = staticView({
      clusterRoles: [clusterRole("pod-reader", [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }, { nonResourceURLs: ["/metrics"], verbs: ["get"] }])],
      roles: [role("a", "secret-reader", [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }])],
      roleBindings: [
        roleBinding("a", "pods", { kind: "ClusterRole", name: "pod-reader" }, [userSubject("jane")]),
        roleBinding("a", "secrets", { kind: "Role", name: "secret-reader" }, [userSubject("jane")]),
        roleBinding("b", "missing", { kind: "Role", name: "secret-reader" }, [userSubject("jane")]),
      ],
    });

    it("grants a RoleBinding's rules in its own namespace only, also for a ClusterRole it refers to", () => {
      expect(authorize(v, res("list", "pods", { namespace: "a" })).allowed).to.equal(true);
      expect(authorize(v, res("list", "pods", { namespace: "b" })).allowed).to.equal(false);
      expect(authorize(v, res("list", "pods")).allowed, "all namespaces").to.equal(false);
      expect(authorize(v, res("get", "secrets", { namespace: "a", name: "s" })).allowed).to.equal(true);
    });

    it("grants nothing through a binding to a Role that exists only in another namespace", () => {
      expect(authorize(v, res("get", "secrets", { namespace: "b", name: "s" })).allowed).to.equal(false);
    });

    it("never grants a non-resource URL through a RoleBinding", () => {
      expect(authorize(v, url("get", "/metrics")).allowed).to.equal(false);
    });
  });

  describe("subjects", () => {
    const v = staticView({
      clusterRoles: [clusterRole("node-reader", [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }]), clusterRole("docs", [{ nonResourceURLs: ["/apis/*", "/version"], verbs: ["get"] }])],
      clusterRoleBindings: [
        clusterRoleBinding("devs", "node-reader", [groupSubject("devs")]),
        clusterRoleBinding("robots", "node-reader", [saSubject("robot", "ops")]),
        clusterRoleBinding("all-sa", "docs", [groupSubject("system:serviceaccounts")]),
      ],
      roles: [role("ops", "pods", [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }])],
      roleBindings: [roleBinding("ops", "local-sa", { kind: "Role", name: "pods" }, [saSubject("builder")]), roleBinding("ops", "ns-sas", { kind: "Role", name: "pods" }, [groupSubject("system:serviceaccounts:ops")])],
    });
    const sa = (ns: string, name: string): UserInfo => ({ name: serviceAccountUser(ns, name), groups: [...serviceAccountGroups(ns), "system:authenticated"] });

    it("matches a Group subject by membership and a User subject by name only", () => {
      expect(authorize(v, res("get", "nodes", { name: "n1" })).allowed).to.equal(true);
      expect(authorize(v, res("get", "nodes", { name: "n1" }, { name: "devs", groups: [] })).allowed).to.equal(false);
    });

    it("matches a ServiceAccount subject as system:serviceaccount:<namespace>:<name>", () => {
      expect(serviceAccountUser("ops", "robot")).to.equal("system:serviceaccount:ops:robot");
      expect(authorize(v, res("get", "nodes", { name: "n1" }, sa("ops", "robot"))).allowed).to.equal(true);
      expect(authorize(v, res("get", "nodes", { name: "n1" }, sa("dev", "robot"))).allowed).to.equal(false);
      expect(authorize(v, res("get", "nodes", { name: "n1" }, { name: "robot", groups: [] })).allowed).to.equal(false);
    });

    it("reads a RoleBinding's ServiceAccount subject without a namespace as one of the binding's namespace", () => {
      expect(authorize(v, res("list", "pods", { namespace: "ops" }, sa("ops", "builder"))).allowed).to.equal(true);
      expect(authorize(v, res("list", "pods", { namespace: "ops" }, sa("dev", "builder"))).allowed).to.equal(false);
    });

    it("matches the groups system:serviceaccounts and system:serviceaccounts:<namespace>", () => {
      expect(authorize(v, url("get", "/apis/apps/v1", sa("x", "y"))).allowed).to.equal(true);
      expect(authorize(v, url("get", "/version", sa("x", "y"))).allowed).to.equal(true);
      expect(authorize(v, url("get", "/api", sa("x", "y"))).allowed).to.equal(false);
      expect(authorize(v, res("list", "pods", { namespace: "ops" }, sa("other", "z"))).allowed).to.equal(false);
      expect(authorize(v, res("list", "pods", { namespace: "ops" }, { name: "system:serviceaccount:ops:z", groups: serviceAccountGroups("ops") })).allowed).to.equal(true);
    });
  });

  describe("the default policy", () => {
    const v = staticView({}, true);
    const viewer: UserInfo = { name: "viewer", groups: ["flotilla:view", "system:authenticated"] };
    const editor: UserInfo = { name: "ed", groups: ["system:authenticated"] };
    const withEdit = staticView({ roleBindings: [roleBinding("team", "ed", { kind: "ClusterRole", name: "edit" }, [userSubject("ed")]), roleBinding("team", "ad", { kind: "ClusterRole", name: "admin" }, [userSubject("ad")])] }, true);

    it("lets the view group read pods, logs and Deployments everywhere but not Secrets, and write nothing", () => {
      expect(authorize(v, res("list", "pods", {}, viewer)).allowed).to.equal(true);
      expect(authorize(v, res("get", "pods", { namespace: "x", name: "p", subresource: "log" }, viewer)).allowed).to.equal(true);
      expect(authorize(v, res("watch", "deployments", { namespace: "x", group: "apps" }, viewer)).allowed).to.equal(true);
      expect(authorize(v, res("get", "secrets", { namespace: "x", name: "s" }, viewer)).allowed).to.equal(false);
      expect(authorize(v, res("list", "secrets", { namespace: "x" }, viewer)).allowed).to.equal(false);
      expect(authorize(v, res("delete", "pods", { namespace: "x", name: "p" }, viewer)).allowed).to.equal(false);
      expect(authorize(v, res("list", "nodes", {}, viewer)).allowed, "the dashboard's nodes").to.equal(true);
      expect(authorize(v, res("patch", "nodes", { name: "n1" }, viewer)).allowed).to.equal(false);
    });

    it("lets edit read Secrets and write workloads, but not Roles; admin also writes Roles and RoleBindings", () => {
      expect(authorize(withEdit, res("get", "secrets", { namespace: "team", name: "s" }, editor)).allowed).to.equal(true);
      expect(authorize(withEdit, res("create", "deployments", { namespace: "team", group: "apps" }, editor)).allowed).to.equal(true);
      expect(authorize(withEdit, res("create", "roles", { namespace: "team", group: "rbac.authorization.k8s.io" }, editor)).allowed).to.equal(false);
      expect(authorize(withEdit, res("create", "roles", { namespace: "team", group: "rbac.authorization.k8s.io" }, { name: "ad", groups: [] })).allowed).to.equal(true);
      expect(authorize(withEdit, res("create", "deployments", { namespace: "other", group: "apps" }, editor)).allowed).to.equal(false);
    });

    it("lets every authenticated user read discovery and create self reviews, and nobody else", () => {
      expect(authorize(v, url("get", "/apis/apps/v1", editor)).allowed).to.equal(true);
      expect(authorize(v, url("get", "/openapi/v3", editor)).allowed).to.equal(true);
      expect(authorize(v, res("create", "selfsubjectaccessreviews", { group: "authorization.k8s.io" }, editor)).allowed).to.equal(true);
      expect(authorize(v, url("get", "/apis/apps/v1", { name: "anon", groups: [] })).allowed).to.equal(false);
    });
  });

  describe("rulesFor", () => {
    it("lists the cluster-wide rules and the namespace's, without non-resource URLs from RoleBindings", () => {
      const v = staticView({
        clusterRoles: [clusterRole("c", [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }, { nonResourceURLs: ["/x"], verbs: ["get"] }])],
        clusterRoleBindings: [clusterRoleBinding("c", "c", [userSubject("jane")])],
        roleBindings: [roleBinding("a", "c", { kind: "ClusterRole", name: "c" }, [userSubject("jane")])],
      });
      expect(rulesFor(v, jane, "a")).to.deep.equal([
        { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
        { nonResourceURLs: ["/x"], verbs: ["get"] },
        { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
      ]);
    });
  });
});

describe("RBAC escalation prevention", () => {
  it("breaks rules into single permissions and finds those no held rule covers", () => {
    expect(atomize({ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] })).to.have.length(2);
    const held = [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods", "*/status"] }];
    expect(uncovered(held, [{ verbs: ["get"], apiGroups: [""], resources: ["pods", "pods/status"] }])).to.deep.equal([]);
    expect(uncovered(held, [{ verbs: ["get", "delete"], apiGroups: [""], resources: ["pods"] }])).to.deep.equal([{ verbs: ["delete"], apiGroups: [""], resources: ["pods"] }]);
    expect(uncovered(held, [{ verbs: ["*"], apiGroups: [""], resources: ["pods"] }]), "a '*' is covered only by a '*'").to.have.length(1);
    expect(uncovered([{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] }], [{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"] }])).to.have.length(1);
    expect(uncovered([{ verbs: ["get"], nonResourceURLs: ["/apis/*"] }], [{ verbs: ["get"], nonResourceURLs: ["/apis/apps"] }])).to.deep.equal([]);
    expect(formatRule({ verbs: ["get"], apiGroups: [""], resources: ["secrets"] })).to.equal('{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}');
  });

  const v = staticView(
    {
      clusterRoles: [clusterRole("binder", [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], verbs: ["bind"], resourceNames: ["edit"] }])],
      roleBindings: [
        roleBinding("team", "ed", { kind: "ClusterRole", name: "edit" }, [userSubject("ed")]),
        roleBinding("team", "ad", { kind: "ClusterRole", name: "admin" }, [userSubject("ad")]),
        roleBinding("team", "vw", { kind: "ClusterRole", name: "view" }, [userSubject("vw")]),
        roleBinding("team", "bind", { kind: "ClusterRole", name: "binder" }, [userSubject("vw")]),
      ],
    },
    true,
  );
  const refused = (f: () => void) => {
    try {
      f();
    } catch (e) {
      return (e as FlotillaError).message;
    }
    return "";
  };
  const ad: UserInfo = { name: "ad", groups: ["system:authenticated"] };
  const vw: UserInfo = { name: "vw", groups: ["system:authenticated"] };
  const rb = (name: string) => roleBinding("team", "x", { kind: "ClusterRole", name }, [userSubject("mallory")]);

  it("lets an admin of a namespace bind edit and view there, but not cluster-admin", () => {
    expect(refused(() => checkNoEscalation(v, ad, "rolebindings", "team", rb("edit")))).to.equal("");
    expect(refused(() => checkNoEscalation(v, ad, "rolebindings", "team", rb("view")))).to.equal("");
    expect(refused(() => checkNoEscalation(v, ad, "rolebindings", "team", rb("cluster-admin")))).to.match(
      /^rolebindings\.rbac\.authorization\.k8s\.io "x" is forbidden: user "ad" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}/,
    );
  });

  it("lets a Role hold only what its writer holds in that namespace", () => {
    const r = role("team", "r", [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }]);
    expect(refused(() => checkNoEscalation(v, ad, "roles", "team", r))).to.equal("");
    expect(refused(() => checkNoEscalation(v, ad, "roles", "other", { ...r, metadata: { name: "r", namespace: "other" } }))).to.contain("not currently held");
  });

  it("lets the bind verb on a role replace holding its permissions", () => {
    expect(refused(() => checkNoEscalation(v, vw, "rolebindings", "team", rb("edit")))).to.equal("");
    expect(refused(() => checkNoEscalation(v, vw, "rolebindings", "team", rb("admin")))).to.contain("not currently held");
  });

  it("refuses an aggregationRule without escalate, and a binding to a role that does not exist", () => {
    const agg = { ...clusterRole("mine", []), aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: "b" } }] } };
    expect(refused(() => checkNoEscalation(v, ad, "clusterroles", undefined, agg))).to.contain("must have cluster-admin privileges to use the aggregationRule");
    expect(refused(() => checkNoEscalation(v, ad, "rolebindings", "team", rb("nope")))).to.contain('may not bind ClusterRole "nope": it was not found');
    expect(refused(() => checkNoEscalation(v, { name: "root", groups: ["system:masters"] }, "clusterroles", undefined, agg))).to.equal("");
  });
});
