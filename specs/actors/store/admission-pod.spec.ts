import { expect } from "chai";
import { create, update, status, rejected, fieldsOf, causeAt, minimal, stored, clone } from "./admission.fixtures.ts";

const pod = () => minimal("pods");

describe("store admission › pods", () => {
  describe("defaulting", () => {
    it("fills in Kubernetes' pod and container defaults", () => {
      const out = create("pods", pod());
      expect(out.spec).to.include({
        restartPolicy: "Always",
        dnsPolicy: "ClusterFirst",
        terminationGracePeriodSeconds: 30,
        schedulerName: "default-scheduler",
        enableServiceLinks: true,
        priority: 0,
      });
      expect(out.spec.securityContext).to.deep.equal({});
      expect(out.spec.containers[0]).to.include({
        imagePullPolicy: "IfNotPresent",
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
      });
      expect(out.status).to.deep.equal({ phase: "Pending", qosClass: "BestEffort" });
    });

    it("pulls :latest and untagged images Always and pinned ones IfNotPresent", () => {
      const p = pod();
      p.spec.containers = [
        { name: "a", image: "busybox" },
        { name: "b", image: "busybox:latest" },
        { name: "c", image: "localhost:5000/busybox" },
        { name: "d", image: "localhost:5000/busybox:1.36" },
        { name: "e", image: "busybox@sha256:abcd" },
        { name: "f", image: "busybox:1", imagePullPolicy: "Never" },
      ];
      expect(create("pods", p).spec.containers.map((c: { imagePullPolicy: string }) => c.imagePullPolicy)).to.deep.equal([
        "Always", "Always", "Always", "IfNotPresent", "IfNotPresent", "Never",
      ]);
    });

    it("defaults port protocols, probe timings, requests from limits and the QoS class", () => {
      const p = pod();
      Object.assign(p.spec.containers[0], {
        ports: [{ containerPort: 8080 }],
        readinessProbe: { httpGet: { port: 8080 } },
        resources: { limits: { cpu: "500m", memory: "128Mi" } },
      });
      const out = create("pods", p);
      const c = out.spec.containers[0];
      expect(c.ports[0].protocol).to.equal("TCP");
      expect(c.readinessProbe).to.deep.equal({
        httpGet: { port: 8080, path: "/", scheme: "HTTP" },
        timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3,
      });
      expect(c.resources.requests).to.deep.equal({ cpu: "500m", memory: "128Mi" });
      expect(out.status.qosClass).to.equal("Guaranteed");
    });

    it("adds not-ready and unreachable tolerations of 2 s by default, or of the configured length", () => {
      const want = (s: number) => [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: s },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: s },
      ];
      expect(create("pods", pod()).spec.tolerations).to.deep.equal(want(2));
      expect(create("pods", pod(), { defaultTolerationSeconds: 30 }).spec.tolerations).to.deep.equal(want(30));
    });

    it("does not add a default toleration the pod already has, nor any to a pod that tolerates everything", () => {
      const own = pod();
      own.spec.tolerations = [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 }];
      const keys = create("pods", own).spec.tolerations.map((t: { key: string; tolerationSeconds: number }) => `${t.key}=${t.tolerationSeconds}`);
      expect(keys).to.deep.equal(["node.kubernetes.io/unreachable=60", "node.kubernetes.io/not-ready=2"]);
      const all = pod();
      all.spec.tolerations = [{ operator: "Exists" }];
      expect(create("pods", all).spec.tolerations).to.deep.equal([{ operator: "Exists" }]);
    });

    it("gives a volume without a source an emptyDir", () => {
      const p = pod();
      p.spec.volumes = [{ name: "scratch" }];
      // The ServiceAccount admission adds its kube-api-access volume after the pod's own.
      expect(create("pods", p).spec.volumes?.[0]).to.deep.equal({ name: "scratch", emptyDir: {} });
    });
  });

  describe("validation", () => {
    it("requires at least one container and each container's name and image", () => {
      const none = pod();
      none.spec.containers = [];
      expect(fieldsOf(rejected(() => create("pods", none)))).to.deep.equal(["spec.containers"]);
      const bare = pod();
      bare.spec.containers = [{}];
      expect(fieldsOf(rejected(() => create("pods", bare)))).to.deep.equal(["spec.containers[0].name", "spec.containers[0].image"]);
    });

    it("refuses duplicate container names across init and app containers", () => {
      const p = pod();
      p.spec.initContainers = [{ name: "app", image: "busybox:1" }];
      const e = rejected(() => create("pods", p));
      expect(causeAt(e, "spec.containers[0].name").message).to.equal('Duplicate value: "app"');
    });

    it("checks ports: range, unique names, protocol", () => {
      const p = pod();
      p.spec.containers[0].ports = [
        { name: "http", containerPort: 80 },
        { name: "http", containerPort: 0 },
        { containerPort: 70000, protocol: "ICMP" },
        { name: "Bad_Name", containerPort: 81 },
      ];
      const e = rejected(() => create("pods", p));
      expect(fieldsOf(e)).to.deep.equal([
        "spec.containers[0].ports[1].name",
        "spec.containers[0].ports[1].containerPort",
        "spec.containers[0].ports[2].containerPort",
        "spec.containers[0].ports[2].protocol",
        "spec.containers[0].ports[3].name",
      ]);
      expect(causeAt(e, "spec.containers[0].ports[2].containerPort").message).to.equal("Invalid value: 70000: must be between 1 and 65535, inclusive");
      expect(causeAt(e, "spec.containers[0].ports[2].protocol").message).to.equal('Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"');
    });

    it("checks quantities and that requests do not exceed limits", () => {
      const p = pod();
      p.spec.containers[0].resources = { requests: { cpu: "2", memory: "lots" }, limits: { cpu: "1" } };
      const e = rejected(() => create("pods", p));
      expect(fieldsOf(e)).to.deep.equal(["spec.containers[0].resources.requests[memory]", "spec.containers[0].resources.requests"]);
      expect(causeAt(e, "spec.containers[0].resources.requests").message).to.equal('Invalid value: "2": must be less than or equal to cpu limit of 1');
    });

    it("accepts 100m of cpu and 128Mi of memory", () => {
      const p = pod();
      p.spec.containers[0].resources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "0.5", memory: "1Gi" } };
      expect(create("pods", p).status.qosClass).to.equal("Burstable");
    });

    it("refuses an unknown restartPolicy", () => {
      const p = pod();
      p.spec.restartPolicy = "Sometimes";
      expect(causeAt(rejected(() => create("pods", p)), "spec.restartPolicy").message).to.equal(
        'Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"',
      );
    });

    it("requires exactly one probe handler", () => {
      const p = pod();
      p.spec.containers[0].livenessProbe = { periodSeconds: 5 };
      p.spec.containers[0].readinessProbe = { exec: { command: ["true"] }, tcpSocket: { port: 80 } };
      const e = rejected(() => create("pods", p));
      expect(causeAt(e, "spec.containers[0].livenessProbe").message).to.equal("Required value: must specify a handler type");
      expect(causeAt(e, "spec.containers[0].readinessProbe.tcpSocket").message).to.equal("Forbidden: may not specify more than 1 handler type");
    });

    it("checks environment variable names and sources", () => {
      const p = pod();
      p.spec.containers[0].env = [{ name: "1BAD" }, { name: "OK", value: "x", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }, { name: "" }];
      expect(fieldsOf(rejected(() => create("pods", p)))).to.deep.equal([
        "spec.containers[0].env[0].name",
        "spec.containers[0].env[1].valueFrom",
        "spec.containers[0].env[2].name",
      ]);
    });

    it("requires unique volume names and mounts that name a volume", () => {
      const p = pod();
      p.spec.volumes = [{ name: "data", emptyDir: {} }, { name: "data", emptyDir: {} }];
      p.spec.containers[0].volumeMounts = [{ name: "data", mountPath: "/data" }, { name: "missing", mountPath: "/m" }];
      const e = rejected(() => create("pods", p));
      expect(fieldsOf(e)).to.deep.equal(["spec.volumes[1].name", "spec.containers[0].volumeMounts[1].name"]);
      expect(causeAt(e, "spec.containers[0].volumeMounts[1].name").reason).to.equal("FieldValueNotFound");
    });

    it("checks tolerations", () => {
      const p = pod();
      p.spec.tolerations = [{ operator: "Equal", value: "x" }, { key: "k", operator: "Exists", value: "v" }, { key: "k", tolerationSeconds: 5, effect: "NoSchedule" }];
      expect(fieldsOf(rejected(() => create("pods", p)))).to.deep.equal([
        "spec.tolerations[0].operator",
        "spec.tolerations[1].operator",
        "spec.tolerations[2].effect",
      ]);
    });

    it("checks node selectors and node affinity operators", () => {
      const p = pod();
      p.spec.nodeSelector = { "disk/": "ssd" };
      p.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "Near" }] }] } } };
      expect(fieldsOf(rejected(() => create("pods", p)))).to.deep.equal([
        "spec.nodeSelector",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator",
      ]);
    });
  });

  describe("updates", () => {
    it("allow a new image, a shorter activeDeadlineSeconds and added tolerations", () => {
      const old = stored("pods", { ...pod(), spec: { ...pod().spec, activeDeadlineSeconds: 100 } });
      const next = clone(old);
      next.spec.containers[0].image = "registry.local/app:1.3";
      next.spec.activeDeadlineSeconds = 50;
      next.spec.tolerations.push({ key: "dedicated", operator: "Equal", value: "x", effect: "NoSchedule" });
      const out = update("pods", next, old);
      expect(out.spec.containers[0].image).to.equal("registry.local/app:1.3");
      expect(out.spec.tolerations).to.have.length(3);
    });

    it("forbid changing anything else in the spec", () => {
      const old = stored("pods");
      const next = clone(old);
      next.spec.restartPolicy = "Never";
      next.spec.containers[0].command = ["sh"];
      const c = causeAt(rejected(() => update("pods", next, old)), "spec");
      expect(c.reason).to.equal("FieldValueForbidden");
      expect(c.message).to.match(/^Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`/);
      expect(c.message).to.contain("spec.containers, spec.restartPolicy");
    });

    it("forbid removing a toleration or lengthening activeDeadlineSeconds", () => {
      const dedicated = { key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" };
      const old = stored("pods", { ...pod(), spec: { ...pod().spec, activeDeadlineSeconds: 100, tolerations: [dedicated] } });
      const next = clone(old);
      next.spec.tolerations = [];
      next.spec.activeDeadlineSeconds = 200;
      expect(fieldsOf(rejected(() => update("pods", next, old)))).to.deep.equal(["spec.activeDeadlineSeconds", "spec.tolerations"]);
    });

    it("let an unbound pod's nodeName be set once (the binding)", () => {
      const old = stored("pods");
      const next = clone(old);
      next.spec.nodeName = "node-1";
      expect(update("pods", next, old).spec.nodeName).to.equal("node-1");
      const moved = clone(update("pods", next, old));
      moved.spec.nodeName = "node-2";
      expect(fieldsOf(rejected(() => update("pods", moved, { ...old, spec: { ...old.spec, nodeName: "node-1" } })))).to.deep.equal(["spec"]);
    });
  });

  describe("status writes", () => {
    it("accept a running status and keep the spec as stored", () => {
      const old = stored("pods");
      const next = clone(old);
      next.spec.containers[0].image = "ignored:2";
      next.status = { phase: "Running", podIP: "127.0.0.1", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [{ name: "app", ready: true, restartCount: 0, image: "x", imageID: "" }] };
      const out = status("pods", next, old);
      expect(out.status.phase).to.equal("Running");
      expect(out.status.qosClass).to.equal("BestEffort");
      expect(out.spec.containers[0].image).to.equal(old.spec.containers[0].image);
    });

    it("refuse an unknown phase, a bad pod IP and a condition without status", () => {
      const old = stored("pods");
      const next = clone(old);
      next.status = { phase: "Exploded", podIP: "999.1.1.1", conditions: [{ type: "Ready", status: "Maybe" }] };
      expect(fieldsOf(rejected(() => status("pods", next, old)))).to.deep.equal(["status.phase", "status.podIP", "status.conditions[0].status"]);
    });
  });
});
