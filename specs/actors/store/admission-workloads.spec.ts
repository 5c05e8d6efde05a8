import { expect } from "chai";
import { create, update, status, rejected, fieldsOf, causeAt, minimal, stored, clone } from "./admission.fixtures.ts";

describe("store admission › workloads", () => {
  describe("Deployment", () => {
    it("defaults replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600 and the pod template", () => {
      const out = create("deployments", minimal("deployments"));
      expect(out.spec).to.deep.include({
        replicas: 1,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      });
      expect(out.spec.template.spec).to.include({ restartPolicy: "Always", dnsPolicy: "ClusterFirst", terminationGracePeriodSeconds: 30 });
      expect(out.spec.template.spec.tolerations, "default tolerations belong to pods, not templates").to.equal(undefined);
      expect(out.metadata.generation).to.equal(1);
      expect(out.status).to.deep.equal({});
    });

    it("leaves a Recreate strategy without rollingUpdate", () => {
      const d = minimal("deployments");
      d.spec.strategy = { type: "Recreate" };
      expect(create("deployments", d).spec.strategy).to.deep.equal({ type: "Recreate" });
    });

    it("refuses a selector that does not match the template labels", () => {
      const d = minimal("deployments");
      d.spec.selector = { matchLabels: { app: "api" } };
      const c = causeAt(rejected(() => create("deployments", d)), "spec.template.metadata.labels");
      expect(c.message).to.equal('Invalid value: {"app":"web"}: `selector` does not match template `labels`');
    });

    it("requires a non-empty selector", () => {
      const missing = minimal("deployments");
      delete missing.spec.selector;
      expect(causeAt(rejected(() => create("deployments", missing)), "spec.selector").reason).to.equal("FieldValueRequired");
      const empty = minimal("deployments");
      empty.spec.selector = {};
      expect(causeAt(rejected(() => create("deployments", empty)), "spec.selector").message).to.contain("empty selector is invalid for deployment");
    });

    it("refuses negative replicas, a bad strategy and a template that does not restart Always", () => {
      const d = minimal("deployments");
      d.spec.replicas = -1;
      d.spec.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: "0%" } };
      d.spec.template.spec.restartPolicy = "Never";
      expect(fieldsOf(rejected(() => create("deployments", d)))).to.deep.equal([
        "spec.replicas",
        "spec.template.spec.restartPolicy",
        "spec.strategy.rollingUpdate.maxUnavailable",
      ]);
    });

    it("reports pod template errors under the full template path", () => {
      const d = minimal("deployments");
      d.spec.template.spec.containers.push({ name: "side", image: "busybox:1", ports: [{ containerPort: 0 }] });
      expect(fieldsOf(rejected(() => create("deployments", d)))).to.deep.equal(["spec.template.spec.containers[1].ports[0].containerPort"]);
    });

    it("keeps the selector immutable and counts spec changes in metadata.generation", () => {
      const old = stored("deployments");
      const scaled = clone(old);
      scaled.spec.replicas = 3;
      expect(update("deployments", scaled, old).metadata.generation).to.equal(2);
      expect(update("deployments", clone(old), old).metadata.generation).to.equal(1);
      const moved = clone(old);
      moved.spec.selector = { matchLabels: { app: "web", tier: "x" } };
      moved.spec.template.metadata.labels.tier = "x";
      expect(causeAt(rejected(() => update("deployments", moved, old)), "spec.selector").message).to.contain("field is immutable");
    });

    it("validates status counts on status writes", () => {
      const old = stored("deployments");
      const next = clone(old);
      next.status = { replicas: 1, readyReplicas: 2, availableReplicas: 3 };
      expect(fieldsOf(rejected(() => status("deployments", next, old)))).to.deep.equal([
        "status.readyReplicas",
        "status.availableReplicas",
        "status.availableReplicas",
      ]);
    });
  });

  describe("ReplicaSet", () => {
    it("defaults replicas to 1 and starts with an empty status", () => {
      const out = create("replicasets", minimal("replicasets"));
      expect(out.spec.replicas).to.equal(1);
      expect(out.status).to.deep.equal({ replicas: 0 });
      expect(out.spec.template.spec.containers[0].imagePullPolicy).to.equal("IfNotPresent");
    });

    it("refuses a mismatched selector and a missing template", () => {
      const rs = minimal("replicasets");
      rs.spec.selector = { matchExpressions: [{ key: "app", operator: "In", values: ["api"] }] };
      expect(fieldsOf(rejected(() => create("replicasets", rs)))).to.deep.equal(["spec.template.metadata.labels"]);
      const bare = minimal("replicasets");
      delete bare.spec.template;
      expect(fieldsOf(rejected(() => create("replicasets", bare)))).to.deep.equal(["spec.template"]);
    });

    it("checks selector expressions", () => {
      const rs = minimal("replicasets");
      rs.spec.selector = { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In" }] };
      expect(causeAt(rejected(() => create("replicasets", rs)), "spec.selector.matchExpressions[0].values").reason).to.equal("FieldValueRequired");
    });

    it("keeps the selector immutable", () => {
      const old = stored("replicasets");
      const next = clone(old);
      next.spec.selector = { matchLabels: {} , matchExpressions: [{ key: "app", operator: "Exists" }] };
      expect(fieldsOf(rejected(() => update("replicasets", next, old)))).to.deep.equal(["spec.selector"]);
    });
  });

  describe("ReplicationController", () => {
    it("defaults replicas, and the selector and labels from the template labels", () => {
      const out = create("replicationcontrollers", minimal("replicationcontrollers"));
      expect(out.spec.replicas).to.equal(1);
      expect(out.spec.selector).to.deep.equal({ app: "web" });
      expect(out.metadata.labels).to.deep.equal({ app: "web" });
    });

    it("requires a selector when the template has no labels, and a matching one otherwise", () => {
      const rc = minimal("replicationcontrollers");
      rc.spec.template.metadata = {};
      expect(fieldsOf(rejected(() => create("replicationcontrollers", rc)))).to.deep.equal(["spec.selector"]);
      const other = minimal("replicationcontrollers");
      other.spec.selector = { app: "api" };
      expect(causeAt(rejected(() => create("replicationcontrollers", other)), "spec.template.metadata.labels").message).to.contain(
        "selector does not match template labels",
      );
    });

    it("refuses activeDeadlineSeconds in the template", () => {
      const rc = minimal("replicationcontrollers");
      rc.spec.template.spec.activeDeadlineSeconds = 10;
      expect(causeAt(rejected(() => create("replicationcontrollers", rc)), "spec.template.spec.activeDeadlineSeconds").message).to.contain(
        "activeDeadlineSeconds in ReplicationController is not Supported",
      );
    });
  });
});
