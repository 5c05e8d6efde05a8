import { expect } from "chai";
import type { Pod } from "../../../bus/resources.ts";
import { probeStep, initialCounter } from "../../../actors/kubelet/probes.ts";
import { resolveEnv, ConfigError } from "../../../actors/kubelet/env.ts";
import { tailText } from "../../../actors/kubelet/engines/log-files.ts";

describe("kubelet probes", () => {
  it("marks readiness only after successThreshold successes", () => {
    const probe = { successThreshold: 2, failureThreshold: 3 };
    let c = initialCounter("readiness");
    c = probeStep(c, true, probe);
    expect(c.ok).to.equal(false);
    c = probeStep(c, true, probe);
    expect(c.ok).to.equal(true);
  });

  it("fails liveness only after failureThreshold consecutive failures", () => {
    const probe = { failureThreshold: 3 };
    let c = initialCounter("liveness");
    c = probeStep(probeStep(c, false, probe), false, probe);
    expect(c.ok).to.equal(true);
    c = probeStep(probeStep(c, true, probe), false, probe);
    expect(c.ok, "a success resets the failure count").to.equal(true);
    c = probeStep(probeStep(probeStep(c, false, probe), false, probe), false, probe);
    expect(c.ok).to.equal(false);
  });
});

describe("kubelet env", () => {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "shop", uid: "u", labels: { app: "web" } },
    spec: { nodeName: "n1", containers: [{ name: "c", resources: { limits: { memory: "64Mi" } } }] },
  };
  const lookups = {
    configMap: (_ns: string, n: string) => (n === "cfg" ? { apiVersion: "v1" as const, kind: "ConfigMap" as const, metadata: { name: "cfg" }, data: { mode: "fast", level: "3" } } : undefined),
    secret: (_ns: string, n: string) => (n === "s" ? { apiVersion: "v1" as const, kind: "Secret" as const, metadata: { name: "s" }, data: { pw: Buffer.from("hunter2").toString("base64") } } : undefined),
  };
  const ctx = { podIP: "10.1.2.3", hostIP: "127.0.0.1", nodeName: "n1" };

  it("resolves values, ConfigMap and Secret keys, field refs, envFrom and $(VAR) references", () => {
    const c = {
      name: "c",
      resources: { limits: { memory: "64Mi" } },
      envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
      env: [
        { name: "MODE", valueFrom: { configMapKeyRef: { name: "cfg", key: "mode" } } },
        { name: "PW", valueFrom: { secretKeyRef: { name: "s", key: "pw" } } },
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory" } } },
        { name: "URL", value: "http://$(IP):80/$(MODE)" },
      ],
    };
    expect(resolveEnv(pod, c, lookups, ctx)).to.deep.equal({
      CFG_mode: "fast",
      CFG_level: "3",
      MODE: "fast",
      PW: "hunter2",
      POD: "web",
      NS: "shop",
      IP: "10.1.2.3",
      NODE: "n1",
      APP: "web",
      MEM: String(64 * 1024 * 1024),
      URL: "http://10.1.2.3:80/fast",
    });
  });

  it("fails with CreateContainerConfigError for a missing reference, unless optional", () => {
    const missing = { name: "c", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "k" } } }] };
    expect(() => resolveEnv(pod, missing, lookups, ctx)).to.throw(ConfigError, 'configmap "nope" not found');
    const optional = { name: "c", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "nope", key: "k", optional: true } } }] };
    expect(resolveEnv(pod, optional, lookups, ctx)).to.deep.equal({});
  });
});

describe("kubelet log tail", () => {
  it("keeps the last n lines and their final newline", () => {
    expect(tailText("a\nb\nc\n", 2)).to.equal("b\nc\n");
    expect(tailText("a\nb\nc", 1)).to.equal("c");
    expect(tailText("a\n", 0)).to.equal("");
  });
});
