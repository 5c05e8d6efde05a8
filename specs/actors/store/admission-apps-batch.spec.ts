import { expect } from "chai";
import { create, update, rejected, fieldsOf, causeAt, minimal, stored, clone } from "./admission.fixtures.ts";

describe("store admission › DaemonSet, StatefulSet, ControllerRevision, Job, CronJob", () => {
  describe("DaemonSet", () => {
    it("defaults RollingUpdate with maxUnavailable 1 and maxSurge 0, revisionHistoryLimit 10 and the zeroed status clients require", () => {
      const out = create("daemonsets", minimal("daemonsets"));
      expect(out.spec.updateStrategy).to.deep.equal({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
      expect(out.spec.revisionHistoryLimit).to.equal(10);
      expect(out.spec.template.spec.restartPolicy).to.equal("Always");
      expect(out.status).to.deep.equal({ currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 });
      expect(out.metadata.generation).to.equal(1);
    });

    it("allows exactly one of maxUnavailable and maxSurge to be non-zero", () => {
      const both = minimal("daemonsets");
      both.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } };
      expect(causeAt(rejected(() => create("daemonsets", both)), "spec.updateStrategy.rollingUpdate.maxSurge").message).to.contain("may not be set when maxUnavailable is non-zero");
      const none = minimal("daemonsets");
      none.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "0%" } };
      expect(causeAt(rejected(() => create("daemonsets", none)), "spec.updateStrategy.rollingUpdate.maxUnavailable").message).to.contain("cannot be 0 when maxSurge is 0");
      const surge = minimal("daemonsets");
      surge.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } };
      expect(create("daemonsets", surge).spec.updateStrategy.rollingUpdate).to.deep.equal({ maxUnavailable: 0, maxSurge: "25%" });
    });

    it("refuses an unknown strategy, an empty selector and a template that does not restart Always", () => {
      const ds = minimal("daemonsets");
      ds.spec.updateStrategy = { type: "Sometimes" };
      ds.spec.template.spec.restartPolicy = "OnFailure";
      expect(fieldsOf(rejected(() => create("daemonsets", ds)))).to.deep.equal(["spec.template.spec.restartPolicy", "spec.updateStrategy.type"]);
      const empty = minimal("daemonsets");
      empty.spec.selector = {};
      expect(causeAt(rejected(() => create("daemonsets", empty)), "spec.selector").message).to.contain("empty selector is invalid for daemonset");
    });

    it("keeps the selector immutable", () => {
      const old = stored("daemonsets");
      const next = clone(old);
      next.spec.selector = { matchLabels: { app: "web", tier: "x" } };
      next.spec.template.metadata.labels.tier = "x";
      expect(causeAt(rejected(() => update("daemonsets", next, old)), "spec.selector").message).to.contain("field is immutable");
    });
  });

  describe("StatefulSet", () => {
    it("defaults OrderedReady, RollingUpdate with partition 0, one replica, history 10 and PVC retention", () => {
      const out = create("statefulsets", minimal("statefulsets"));
      expect(out.spec).to.deep.include({
        podManagementPolicy: "OrderedReady",
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
        replicas: 1,
        revisionHistoryLimit: 10,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      });
      expect(out.status).to.deep.include({ replicas: 0 });
    });

    it("refuses a bad pod management policy, a negative partition and a zero maxUnavailable", () => {
      const sts = minimal("statefulsets");
      sts.spec.podManagementPolicy = "Random";
      sts.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: -1, maxUnavailable: 0 } };
      expect(fieldsOf(rejected(() => create("statefulsets", sts)))).to.deep.equal([
        "spec.podManagementPolicy",
        "spec.updateStrategy.rollingUpdate.partition",
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
      ]);
    });

    it("forbids rollingUpdate with OnDelete", () => {
      const sts = minimal("statefulsets");
      sts.spec.updateStrategy = { type: "OnDelete", rollingUpdate: { partition: 1 } };
      expect(causeAt(rejected(() => create("statefulsets", sts)), "spec.updateStrategy.rollingUpdate").reason).to.equal("FieldValueForbidden");
    });

    it("accepts mounts of a claim template as volumes of the pods, and defaults the templates' volumeMode", () => {
      const sts = minimal("statefulsets");
      sts.spec.volumeClaimTemplates = [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }];
      sts.spec.template.spec.containers[0].volumeMounts = [{ name: "data", mountPath: "/data" }];
      const out = create("statefulsets", sts);
      expect(out.spec.volumeClaimTemplates[0].spec.volumeMode).to.equal("Filesystem");
      expect(out.spec.template.spec.volumes, "the stored template is not changed").to.equal(undefined);
      const unknown = clone(sts);
      unknown.spec.template.spec.containers[0].volumeMounts = [{ name: "logs", mountPath: "/logs" }];
      expect(fieldsOf(rejected(() => create("statefulsets", unknown)))).to.deep.equal(["spec.template.spec.containers[0].volumeMounts[0].name"]);
    });

    it("refuses claim templates without a name, access modes or a storage request, duplicates, and an unknown retention policy, naming each field", () => {
      const sts = minimal("statefulsets");
      sts.spec.volumeClaimTemplates = [
        { metadata: {}, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
        { metadata: { name: "data" }, spec: { resources: { requests: {} } } },
        { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteSometimes"], resources: { requests: { storage: "0" } } } },
        { metadata: { name: "Bad_Name" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
      ];
      sts.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Shred", whenScaled: "Delete" };
      const err = rejected(() => create("statefulsets", sts));
      expect(fieldsOf(err)).to.deep.equal([
        "spec.volumeClaimTemplates[0].metadata.name",
        "spec.volumeClaimTemplates[1].spec.accessModes",
        "spec.volumeClaimTemplates[1].spec.resources[storage]",
        "spec.volumeClaimTemplates[2].metadata.name",
        "spec.volumeClaimTemplates[2].spec.accessModes",
        "spec.volumeClaimTemplates[2].spec.resources[storage]",
        "spec.volumeClaimTemplates[3].metadata.name",
        "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
      ]);
      expect(causeAt(err, "spec.volumeClaimTemplates[2].metadata.name").reason).to.equal("FieldValueDuplicate");
    });

    it("lets replicas, template and updateStrategy change but nothing else in spec", () => {
      const old = stored("statefulsets");
      const ok = clone(old);
      ok.spec.replicas = 5;
      ok.spec.template.spec.containers[0].image = "registry.local/app:2";
      ok.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: 2 } };
      expect(update("statefulsets", ok, old).metadata.generation).to.equal(2);
      const bad = clone(old);
      bad.spec.serviceName = "other";
      expect(causeAt(rejected(() => update("statefulsets", bad, old)), "spec").message).to.contain("updates to statefulset spec for fields other than");
    });
  });

  describe("ControllerRevision", () => {
    it("requires data and a non-negative revision, and keeps data immutable", () => {
      const cr = minimal("controllerrevisions");
      delete cr.data;
      cr.revision = -1;
      expect(fieldsOf(rejected(() => create("controllerrevisions", cr)))).to.deep.equal(["data", "revision"]);
      const old = stored("controllerrevisions");
      const next = clone(old);
      next.data = { spec: {} };
      expect(causeAt(rejected(() => update("controllerrevisions", next, old)), "data").message).to.contain("field is immutable");
      const relabelled = clone(old);
      relabelled.revision = 4;
      expect(update("controllerrevisions", relabelled, old).revision).to.equal(4);
    });
  });

  describe("Job", () => {
    it("defaults one completion at parallelism 1, backoffLimit 6, NonIndexed, not suspended", () => {
      const out = create("jobs", minimal("jobs"));
      expect(out.spec).to.deep.include({ completions: 1, parallelism: 1, backoffLimit: 6, completionMode: "NonIndexed", suspend: false, podReplacementPolicy: "TerminatingOrFailed" });
    });

    it("leaves completions unset when only parallelism is given (a work queue Job)", () => {
      const job = minimal("jobs");
      job.spec.parallelism = 3;
      const out = create("jobs", job);
      expect(out.spec.completions).to.equal(undefined);
      expect(out.spec.parallelism).to.equal(3);
    });

    it("generates a selector on the controller uid and labels the template with the job name and uid", () => {
      const job = minimal("jobs");
      job.metadata.uid = "0e5c1d2a-1111-2222-3333-444455556666";
      const out = create("jobs", job);
      expect(out.spec.selector).to.deep.equal({ matchLabels: { "batch.kubernetes.io/controller-uid": job.metadata.uid } });
      expect(out.spec.template.metadata.labels).to.deep.equal({
        "batch.kubernetes.io/controller-uid": job.metadata.uid,
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": job.metadata.uid,
        "job-name": "pi",
      });
      expect(out.metadata.labels).to.deep.equal(out.spec.template.metadata.labels);
    });

    it("needs restartPolicy OnFailure or Never (the pod default Always is refused)", () => {
      const job = minimal("jobs");
      delete job.spec.template.spec.restartPolicy;
      expect(causeAt(rejected(() => create("jobs", job)), "spec.template.spec.restartPolicy").message).to.equal(
        'Unsupported value: "Always": supported values: "Never", "OnFailure"',
      );
    });

    it("requires completions for Indexed Jobs and checks podFailurePolicy rules", () => {
      const job = minimal("jobs");
      job.spec.completionMode = "Indexed";
      job.spec.parallelism = 2;
      job.spec.podFailurePolicy = { rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [0, 42] } }, { action: "Explode", onExitCodes: { operator: "In", values: [1] } }] };
      expect(fieldsOf(rejected(() => create("jobs", job)))).to.deep.equal([
        "spec.completions",
        "spec.podFailurePolicy.rules[0].onExitCodes.values[0]",
        "spec.podFailurePolicy.rules[1].action",
      ]);
    });

    it("refuses a manual selector that does not match the template", () => {
      const job = minimal("jobs");
      job.spec.manualSelector = true;
      job.spec.selector = { matchLabels: { run: "x" } };
      job.spec.template.metadata = { labels: { run: "y" } };
      expect(causeAt(rejected(() => create("jobs", job)), "spec.template.metadata.labels").message).to.contain("`selector` does not match template `labels`");
    });

    it("keeps the selector and template immutable on a running Job but lets suspend and labels change", () => {
      const old = stored("jobs");
      const tpl = clone(old);
      tpl.spec.template.spec.containers[0].image = "other:1";
      expect(fieldsOf(rejected(() => update("jobs", tpl, old)))).to.deep.equal(["spec.template"]);
      const ok = clone(old);
      ok.spec.suspend = true;
      ok.metadata.labels = { ...ok.metadata.labels, team: "a" };
      expect(update("jobs", ok, old).spec.suspend).to.equal(true);
    });
  });

  describe("CronJob", () => {
    it("defaults Allow, not suspended, history 3 successful and 1 failed, without Job-level defaults in the template", () => {
      const out = create("cronjobs", minimal("cronjobs"));
      expect(out.spec).to.deep.include({ concurrencyPolicy: "Allow", suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
      expect(out.spec.jobTemplate.spec.completions).to.equal(undefined);
      expect(out.spec.jobTemplate.spec.template.spec.dnsPolicy).to.equal("ClusterFirst");
    });

    it("accepts descriptors and time zones, refuses bad schedules and zones", () => {
      for (const schedule of ["@hourly", "@daily", "0 9 * * 1-5", "TZ=Europe/Berlin 30 6 * * *"]) {
        const cj = minimal("cronjobs");
        cj.spec.schedule = schedule;
        expect(create("cronjobs", cj).spec.schedule).to.equal(schedule);
      }
      const bad = minimal("cronjobs");
      bad.spec.schedule = "61 * * * *";
      expect(causeAt(rejected(() => create("cronjobs", bad)), "spec.schedule").message).to.match(/^Invalid value: "61 \* \* \* \*": /);
      const six = minimal("cronjobs");
      six.spec.schedule = "* * * * * *";
      expect(causeAt(rejected(() => create("cronjobs", six)), "spec.schedule").message).to.contain("expected exactly 5 fields, found 6");
      const zone = minimal("cronjobs");
      zone.spec.timeZone = "Mars/Olympus";
      expect(fieldsOf(rejected(() => create("cronjobs", zone)))).to.deep.equal(["spec.timeZone"]);
      const both = minimal("cronjobs");
      both.spec.timeZone = "UTC";
      both.spec.schedule = "TZ=UTC * * * * *";
      expect(causeAt(rejected(() => create("cronjobs", both)), "spec.schedule").message).to.contain("cannot use both timeZone field and TZ or CRON_TZ");
    });

    it("refuses a bad concurrency policy, a selector in the job template and names over 52 characters", () => {
      const cj = minimal("cronjobs");
      cj.metadata.name = "a".repeat(53);
      cj.spec.concurrencyPolicy = "Sometimes";
      cj.spec.jobTemplate.spec.selector = { matchLabels: { a: "b" } };
      expect(fieldsOf(rejected(() => create("cronjobs", cj)))).to.deep.equal(["metadata.name", "spec.concurrencyPolicy", "spec.jobTemplate.spec.selector"]);
    });
  });
});
