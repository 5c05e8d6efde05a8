/**
 * The real kubectl 1.32 and RBAC: the rbac.authorization.k8s.io/v1 kinds through `kubectl create`
 * and `kubectl get`.
 */
import { expect } from "chai";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";

const NS = "rbac-a";

describe("kubectl and RBAC", function () {
  this.timeout(60_000);
  let env: ApiEnv;
  const ok = async (args: string[], o: { kubeconfig?: string } = {}) => {
    const r = await env.kubectl(args, o);
    expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(async () => {
    env = await startApiEnv();
    await ok(["create", "namespace", NS]);
  });
  after(async () => {
    await env?.stop();
  });

  describe("the rbac.authorization.k8s.io/v1 kinds", () => {
    it("creates a Role, a ClusterRole and bindings to them with kubectl create", async () => {
      expect(await ok(["create", "role", "pod-reader", "-n", NS, "--verb=get,list,watch", "--resource=pods,pods/log"])).to.contain("role.rbac.authorization.k8s.io/pod-reader created");
      expect(await ok(["create", "clusterrole", "node-reader", "--verb=get,list", "--resource=nodes"])).to.contain("clusterrole.rbac.authorization.k8s.io/node-reader created");
      expect(await ok(["create", "rolebinding", "jane-reads-pods", "-n", NS, "--role=pod-reader", "--user=jane", "--group=devs", "--serviceaccount=rbac-a:robot"])).to.contain(
        "rolebinding.rbac.authorization.k8s.io/jane-reads-pods created",
      );
      expect(await ok(["create", "clusterrolebinding", "jane-reads-nodes", "--clusterrole=node-reader", "--user=jane"])).to.contain("clusterrolebinding.rbac.authorization.k8s.io/jane-reads-nodes created");
      const role = JSON.parse(await ok(["get", "role", "pod-reader", "-n", NS, "-o", "json"]));
      expect(role.rules).to.deep.equal([
        { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] },
      ]);
    });

    it("prints the columns Kubernetes prints for each kind", async () => {
      const out = await ok(["get", "role,rolebinding", "-n", NS, "-o", "wide"]);
      expect(out).to.match(/NAME\s+CREATED AT\nrole\.rbac\.authorization\.k8s\.io\/pod-reader\s+\d{4}-\d\d-\d\dT/);
      expect(out).to.match(/NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS\nrolebinding\.rbac\.authorization\.k8s\.io\/jane-reads-pods\s+Role\/pod-reader\s+\S+\s+jane\s+devs\s+rbac-a:robot/);
      const crb = await ok(["get", "clusterrolebinding", "jane-reads-nodes"]);
      expect(crb).to.match(/NAME\s+ROLE\s+AGE\njane-reads-nodes\s+ClusterRole\/node-reader\s+\S+/);
      expect(await ok(["get", "clusterrole", "node-reader"])).to.match(/NAME\s+CREATED AT\nnode-reader\s+\d{4}-/);
    });

    it("refuses an invalid binding with Kubernetes' field errors", async () => {
      const r = await env.kubectl(["apply", "-f", "-"], {
        input: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: broken}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: ServiceAccount, name: robot}]
`,
      });
      expect(r.stderr).to.contain('The ClusterRoleBinding "broken" is invalid: ');
      expect(r.stderr).to.contain('roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"');
      expect(r.stderr).to.contain("subjects[0].namespace: Required value");
    });
  });
});
