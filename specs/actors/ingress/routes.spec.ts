import { expect } from "chai";
import type { Ingress, IngressClass } from "../../../bus/networking.ts";
import type { Endpoints, Service } from "../../../bus/resources.ts";
import { buildRoutes, isOurs, matchRoute, requestHost, tlsFor } from "../../../actors/ingress/routes.ts";
import { targetsOf } from "../../../actors/ingress/backends.ts";
import { loadBalancerFor } from "../../../actors/ingress/status.ts";
import { withDefaultIngressClass } from "../../../actors/store/ingress-class.ts";

const svc = (name: string, port = 80) => ({ service: { name, port: { number: port } } });
const ing = (name: string, spec: Ingress["spec"], created = "2026-01-01T00:00:00Z", ns = "default"): Ingress => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace: ns, creationTimestamp: created },
  spec,
});
const cls = (name: string, controller: string, isDefault = false): IngressClass => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "IngressClass",
  metadata: { name, creationTimestamp: "2026-01-01T00:00:00Z", ...(isDefault ? { annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } } : {}) },
  spec: { controller },
});
const to = (t: ReturnType<typeof buildRoutes>, host: string, path: string) => matchRoute(t, host, path)?.service;

describe("ingress routes", () => {
  const table = buildRoutes([
    ing("web", {
      rules: [
        { host: "foo.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: svc("root") }, { path: "/api/", pathType: "Prefix", backend: svc("api") }, { path: "/api/exact", pathType: "Exact", backend: svc("exact") }] } },
        { host: "*.wild.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: svc("wild") }] } },
        { host: "a.wild.test", http: { paths: [{ path: "/", pathType: "ImplementationSpecific", backend: svc("precise") }] } },
        { http: { paths: [{ path: "/any", pathType: "Prefix", backend: svc("hostless") }] } },
      ],
    }),
  ]);

  it("matches prefixes element by element and prefers the longest", () => {
    expect(to(table, "foo.test", "/")).to.equal("root");
    expect(to(table, "foo.test", "/api")).to.equal("api");
    expect(to(table, "foo.test", "/api/v1")).to.equal("api");
    expect(to(table, "foo.test", "/apiv1")).to.equal("root");
  });
  it("prefers an Exact path over any prefix", () => {
    expect(to(table, "foo.test", "/api/exact")).to.equal("exact");
    expect(to(table, "foo.test", "/api/exact/more")).to.equal("api");
  });
  it("prefers an exact host over a wildcard, which matches one label only", () => {
    expect(to(table, "a.wild.test", "/x")).to.equal("precise");
    expect(to(table, "b.wild.test", "/x")).to.equal("wild");
    expect(to(table, "c.b.wild.test", "/x")).to.equal(undefined);
    expect(to(table, "wild.test", "/x")).to.equal(undefined);
  });
  it("applies a rule without a host to every host", () => {
    expect(to(table, "else.test", "/any/thing")).to.equal("hostless");
    expect(to(table, "else.test", "/other")).to.equal(undefined);
  });
  it("falls back to the default backend of the oldest Ingress that has one", () => {
    const t = buildRoutes([ing("new", { defaultBackend: svc("new") }, "2026-02-01T00:00:00Z"), ing("old", { defaultBackend: svc("old") }, "2026-01-01T00:00:00Z")]);
    expect(to(t, "x", "/")).to.equal("old");
  });
  it("reads the Host header without port, case or trailing dot", () => {
    expect(requestHost("Foo.Test:8080")).to.equal("foo.test");
    expect(requestHost("foo.test.")).to.equal("foo.test");
    expect(requestHost("[::1]:80")).to.equal("[::1]");
  });
  it("chooses a TLS Secret by SNI name: exact, wildcard, then one without hosts", () => {
    const t = buildRoutes([ing("tls", { rules: [], tls: [{ hosts: ["a.test"], secretName: "a" }, { hosts: ["*.w.test"], secretName: "w" }, { secretName: "any" }] })]);
    expect(tlsFor(t, "a.test")?.secretName).to.equal("a");
    expect(tlsFor(t, "x.w.test")?.secretName).to.equal("w");
    expect(tlsFor(t, "z.test")?.secretName).to.equal("any");
  });
});

describe("ingress classes", () => {
  const mine = "flotilla.io/ingress";
  it("serves Ingresses of its classes, and class-less ones when the default class is its own or there is none", () => {
    const classes = [cls("flotilla", mine, true), cls("other", "example.com/other")];
    expect(isOurs(ing("a", { ingressClassName: "flotilla" }), classes, mine)).to.equal(true);
    expect(isOurs(ing("b", { ingressClassName: "other" }), classes, mine)).to.equal(false);
    expect(isOurs(ing("c", {}), classes, mine)).to.equal(true);
    expect(isOurs(ing("d", {}), [cls("other", "example.com/other", true)], mine)).to.equal(false);
    expect(isOurs(ing("e", {}), [], mine)).to.equal(true);
  });
  it("gives a class-less Ingress the newest default class at create", () => {
    const older = cls("old", mine, true);
    const newer = { ...cls("new", mine, true), metadata: { ...cls("new", mine, true).metadata, creationTimestamp: "2026-03-01T00:00:00Z" } };
    expect(withDefaultIngressClass(ing("a", {}), [older, newer, cls("plain", mine)]).spec?.ingressClassName).to.equal("new");
    expect(withDefaultIngressClass(ing("b", { ingressClassName: "x" }), [older]).spec?.ingressClassName).to.equal("x");
    expect(withDefaultIngressClass(ing("c", {}), [cls("plain", mine)]).spec?.ingressClassName).to.equal(undefined);
  });
});

describe("ingress backends and status", () => {
  const service: Service = { apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "default" }, spec: { ports: [{ name: "http", port: 80 }, { name: "metrics", port: 9090 }] } };
  const endpoints: Endpoints = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "s", namespace: "default" },
    subsets: [{ addresses: [{ ip: "10.0.0.1" }], notReadyAddresses: [{ ip: "10.0.0.2" }], ports: [{ name: "http", port: 8080 }, { name: "metrics", port: 9100 }] }],
  };
  const b = (port: { name?: string; number?: number }) => ({ namespace: "default", service: "s", port, ingress: "default/x" });
  it("resolves a service port by number or name to the ready endpoints only", () => {
    expect(targetsOf(b({ number: 80 }), service, endpoints)).to.deep.equal({ ok: true, targets: [{ host: "10.0.0.1", port: 8080 }] });
    expect(targetsOf(b({ name: "metrics" }), service, endpoints)).to.deep.equal({ ok: true, targets: [{ host: "10.0.0.1", port: 9100 }] });
    expect(targetsOf(b({ number: 81 }), service, endpoints).ok).to.equal(false);
    expect(targetsOf(b({ number: 80 }), undefined, endpoints).ok).to.equal(false);
  });
  it("adds and removes only its own address in status.loadBalancer.ingress", () => {
    const i = { ...ing("x", {}), status: { loadBalancer: { ingress: [{ ip: "10.0.0.9" }] } } };
    expect(loadBalancerFor(i, { serves: true, ip: "10.0.0.3" })).to.deep.equal([{ ip: "10.0.0.3" }, { ip: "10.0.0.9" }]);
    expect(loadBalancerFor(i, { serves: true, ip: "10.0.0.9" })).to.equal(undefined);
    expect(loadBalancerFor(i, { serves: false, ip: "10.0.0.9" })).to.deep.equal([]);
    expect(loadBalancerFor(i, { serves: false, ip: "10.0.0.3" })).to.equal(undefined);
  });
});
