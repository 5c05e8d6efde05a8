import { expect } from "chai";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";
import { decodeKubeProtobuf, kubeProto, PROTOBUF_MAGIC } from "../../../actors/api-server/protobuf.ts";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures/protobuf");
const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, `${name}.bin`)));

/** An envelope as client-go builds it: magic + runtime.Unknown around the encoded object. */
function envelope(apiVersion: string, kind: string, object: Record<string, unknown>, extra: Record<string, unknown> = {}): Uint8Array {
  const type = kubeProto.lookupType(`k8s.${kind}`);
  const raw = type.encode(type.fromObject(object)).finish();
  const Unknown = kubeProto.lookupType("k8s.Unknown");
  const body = Unknown.encode(Unknown.fromObject({ typeMeta: { apiVersion, kind }, raw, contentType: "", ...extra })).finish();
  return new Uint8Array([...PROTOBUF_MAGIC, ...body]);
}

function errorOf(fn: () => unknown): FlotillaError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(FlotillaError);
    return e as FlotillaError;
  }
  throw new Error("expected decoding to fail");
}

describe("decodeKubeProtobuf", () => {
  describe("with bodies captured from kubectl 1.32", () => {
    it("decodes `kubectl create namespace x`", () => {
      expect(decodeKubeProtobuf(fixture("namespace"))).to.deep.equal({ apiVersion: "v1", kind: "Namespace", object: { metadata: { name: "x" } } });
    });

    it("decodes `kubectl create deployment web --image=busybox --replicas=2 --port=8080 -- sleep 3600`", () => {
      expect(decodeKubeProtobuf(fixture("deployment"))).to.deep.equal({
        apiVersion: "apps/v1",
        kind: "Deployment",
        object: {
          metadata: { name: "web", labels: { app: "web" } },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: "web" } },
            template: {
              metadata: { labels: { app: "web" } },
              spec: { containers: [{ name: "busybox", image: "busybox", command: ["sleep", "3600"], ports: [{ containerPort: 8080 }] }] },
            },
          },
        },
      });
    });

    it("decodes `kubectl create job pi --image=busybox -- sh -c 'exit 0'`", () => {
      expect(decodeKubeProtobuf(fixture("job"))).to.deep.equal({
        apiVersion: "batch/v1",
        kind: "Job",
        object: {
          metadata: { name: "pi" },
          spec: { template: { spec: { containers: [{ name: "pi", image: "busybox", command: ["sh", "-c", "exit 0"] }], restartPolicy: "Never" } } },
        },
      });
    });

    it("decodes `kubectl create cronjob tick --image=busybox --schedule='*/1 * * * *' -- date`", () => {
      expect(decodeKubeProtobuf(fixture("cronjob")).object).to.deep.equal({
        metadata: { name: "tick" },
        spec: {
          schedule: "*/1 * * * *",
          jobTemplate: { metadata: { name: "tick" }, spec: { template: { spec: { containers: [{ name: "tick", image: "busybox", command: ["date"] }], restartPolicy: "OnFailure" } } } },
        },
      });
    });

    it("decodes `kubectl create job manual --from=cronjob/tick`: the template's spec, the manual annotation and the owner", () => {
      const { object } = decodeKubeProtobuf(fixture("job-from-cronjob"));
      expect(object.metadata).to.deep.equal({
        name: "manual",
        labels: { app: "tick" },
        annotations: { "cronjob.kubernetes.io/instantiate": "manual" },
        ownerReferences: [{ kind: "CronJob", name: "tick", uid: "5f3c2b1a-0000-4000-8000-00000000c0de", apiVersion: "batch/v1", controller: true }],
      });
      expect(object.spec).to.deep.include({ backoffLimit: 2 });
    });

    it("decodes `kubectl create configmap c --from-literal=a=b --from-literal=greeting=hello world`", () => {
      expect(decodeKubeProtobuf(fixture("configmap"))).to.deep.equal({
        apiVersion: "v1",
        kind: "ConfigMap",
        object: { metadata: { name: "c" }, data: { a: "b", greeting: "hello world" } },
      });
    });

    it("decodes `kubectl create secret generic s` with its data as base64", () => {
      const { object } = decodeKubeProtobuf(fixture("secret"));
      expect(object).to.deep.equal({ metadata: { name: "s" }, data: { password: Buffer.from("s3cr3t").toString("base64") } });
    });

    it("decodes `kubectl create service nodeport web --tcp=80:8080` with an integer targetPort", () => {
      expect(decodeKubeProtobuf(fixture("service")).object).to.deep.equal({
        metadata: { name: "web", labels: { app: "web" } },
        spec: { ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }], selector: { app: "web" }, type: "NodePort" },
      });
    });
  });

  describe("with envelopes built from the schema", () => {
    it("keeps explicit zeros of pointer fields and IntOrString strings", () => {
      const body = envelope("apps/v1", "Deployment", {
        metadata: { name: "d", namespace: "ns", creationTimestamp: { seconds: 1767225600 } },
        spec: {
          replicas: 0,
          revisionHistoryLimit: 0,
          minReadySeconds: 0,
          paused: false,
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: { type: 1, strVal: "25%" }, maxUnavailable: { type: 0, intVal: 0 } } },
          template: { spec: { containers: [{ name: "c", image: "i", workingDir: "" }], terminationGracePeriodSeconds: 0, dnsPolicy: "ClusterFirst" } },
        },
      });
      expect(decodeKubeProtobuf(body).object).to.deep.equal({
        metadata: { name: "d", namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
        spec: {
          replicas: 0,
          revisionHistoryLimit: 0,
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
          template: { spec: { containers: [{ name: "c", image: "i" }], terminationGracePeriodSeconds: 0, dnsPolicy: "ClusterFirst" } },
        },
      });
    });

    it("decodes a pod with env, resources, probes, inlined volume sources and selectors", () => {
      const body = envelope("v1", "Pod", {
        metadata: { name: "p", labels: { a: "b" }, annotations: { n: "v" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", controller: true }], finalizers: ["f"] },
        spec: {
          restartPolicy: "Always",
          nodeSelector: { disk: "ssd" },
          securityContext: {},
          tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }],
          volumes: [
            { name: "scratch", volumeSource: { emptyDir: {} } },
            { name: "cfg", volumeSource: { configMap: { localObjectReference: { name: "cm" }, items: [{ key: "a", path: "a.txt" }] } } },
          ],
          containers: [
            {
              name: "web",
              image: "nginx",
              args: ["-g", "daemon off;"],
              imagePullPolicy: "IfNotPresent",
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              ports: [{ name: "http", containerPort: 80, protocol: "TCP" }],
              env: [
                { name: "A", value: "1" },
                { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "S", valueFrom: { secretKeyRef: { localObjectReference: { name: "sec" }, key: "k" } } },
              ],
              envFrom: [{ configMapRef: { localObjectReference: { name: "cm" } } }],
              resources: { limits: { cpu: { string: "500m" }, memory: { string: "128Mi" } }, requests: { cpu: { string: "100m" } } },
              volumeMounts: [{ name: "scratch", mountPath: "/tmp", readOnly: false }],
              readinessProbe: { handler: { httpGet: { path: "/healthz", port: { type: 1, strVal: "http" } } }, periodSeconds: 5 },
              livenessProbe: { handler: { tcpSocket: { port: { type: 0, intVal: 80 } } }, initialDelaySeconds: 3 },
            },
          ],
        },
      });
      expect(decodeKubeProtobuf(body).object).to.deep.equal({
        metadata: { name: "p", labels: { a: "b" }, annotations: { n: "v" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", controller: true }], finalizers: ["f"] },
        spec: {
          restartPolicy: "Always",
          nodeSelector: { disk: "ssd" },
          securityContext: {},
          tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }],
          volumes: [
            { name: "scratch", emptyDir: {} },
            { name: "cfg", configMap: { name: "cm", items: [{ key: "a", path: "a.txt" }] } },
          ],
          containers: [
            {
              name: "web",
              image: "nginx",
              args: ["-g", "daemon off;"],
              imagePullPolicy: "IfNotPresent",
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              ports: [{ name: "http", containerPort: 80, protocol: "TCP" }],
              env: [
                { name: "A", value: "1" },
                { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "S", valueFrom: { secretKeyRef: { name: "sec", key: "k" } } },
              ],
              envFrom: [{ configMapRef: { name: "cm" } }],
              resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "100m" } },
              volumeMounts: [{ name: "scratch", mountPath: "/tmp" }],
              readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 },
              livenessProbe: { tcpSocket: { port: 80 }, initialDelaySeconds: 3 },
            },
          ],
        },
      });
    });

    it("decodes a ConfigMap's binaryData and immutable, and a Secret's type and stringData", () => {
      const cm = envelope("v1", "ConfigMap", { metadata: { name: "c" }, binaryData: { bin: Buffer.from([0, 1, 2]) }, immutable: false });
      expect(decodeKubeProtobuf(cm).object).to.deep.equal({ metadata: { name: "c" }, binaryData: { bin: "AAEC" }, immutable: false });
      const secret = envelope("v1", "Secret", { metadata: { name: "s" }, type: "kubernetes.io/tls", stringData: { "tls.key": "k" }, immutable: true });
      expect(decodeKubeProtobuf(secret).object).to.deep.equal({ metadata: { name: "s" }, type: "kubernetes.io/tls", stringData: { "tls.key": "k" }, immutable: true });
    });

    it("decodes DeleteOptions as drain's DELETE fallback sends them", () => {
      const body = envelope("v1", "DeleteOptions", { gracePeriodSeconds: 0, propagationPolicy: "Background", preconditions: { uid: "u1" }, dryRun: ["All"] });
      expect(decodeKubeProtobuf(body)).to.deep.equal({
        apiVersion: "v1",
        kind: "DeleteOptions",
        object: { gracePeriodSeconds: 0, propagationPolicy: "Background", preconditions: { uid: "u1" }, dryRun: ["All"] },
      });
    });

    it("decodes a Service with a named targetPort and session affinity", () => {
      const body = envelope("v1", "Service", {
        metadata: { name: "s" },
        spec: { type: "ClusterIP", ports: [{ port: 80, targetPort: { type: 1, strVal: "http" } }], sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
      });
      expect(decodeKubeProtobuf(body).object).to.deep.equal({
        metadata: { name: "s" },
        spec: { type: "ClusterIP", ports: [{ port: 80, targetPort: "http" }], sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
      });
    });
  });

  describe("rejecting bodies", () => {
    it("answers UnsupportedMediaType for a kind it has no schema for", () => {
      const Unknown = kubeProto.lookupType("k8s.Unknown");
      const inner = Unknown.encode(Unknown.fromObject({ typeMeta: { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" }, raw: new Uint8Array() })).finish();
      const e = errorOf(() => decodeKubeProtobuf(new Uint8Array([...PROTOBUF_MAGIC, ...inner])));
      expect(e.code).to.equal(ErrorCode.UnsupportedMediaType);
      expect(e.message).to.match(/protobuf body of kind NetworkPolicy is not supported; send JSON/);
    });

    it("answers UnsupportedMediaType for a compressed raw object", () => {
      const e = errorOf(() => decodeKubeProtobuf(envelope("v1", "Namespace", { metadata: { name: "x" } }, { contentEncoding: "gzip" })));
      expect(e.code).to.equal(ErrorCode.UnsupportedMediaType);
    });

    it("answers BadRequest without the k8s magic or for truncated bytes", () => {
      expect(errorOf(() => decodeKubeProtobuf(new TextEncoder().encode('{"kind":"Namespace"}'))).code).to.equal(ErrorCode.BadRequest);
      const truncated = fixture("deployment").subarray(0, 60);
      expect(errorOf(() => decodeKubeProtobuf(truncated)).code).to.equal(ErrorCode.BadRequest);
    });
  });
});
