import { expect } from "chai";
import { create, update, status, rejected, fieldsOf, causeAt, minimal, stored, clone } from "./admission.fixtures.ts";

const svc = () => minimal("services");

describe("store admission › services and endpoints", () => {
  describe("Service", () => {
    it("defaults type ClusterIP, sessionAffinity None, protocol TCP and targetPort = port", () => {
      const out = create("services", svc());
      expect(out.spec).to.deep.include({ type: "ClusterIP", sessionAffinity: "None", internalTrafficPolicy: "Cluster", ipFamilyPolicy: "SingleStack" });
      expect(out.spec.ports).to.deep.equal([{ port: 80, protocol: "TCP", targetPort: 80 }]);
      expect(out.status).to.deep.equal({ loadBalancer: {} });
    });

    it("defaults the ClientIP affinity timeout and the external traffic policy of a NodePort service", () => {
      const s = svc();
      s.spec.type = "NodePort";
      s.spec.sessionAffinity = "ClientIP";
      const out = create("services", s);
      expect(out.spec.sessionAffinityConfig).to.deep.equal({ clientIP: { timeoutSeconds: 10800 } });
      expect(out.spec.externalTrafficPolicy).to.equal("Cluster");
    });

    it("takes a DNS-1035 label as its name", () => {
      const s = svc();
      s.metadata.name = "1web";
      expect(causeAt(rejected(() => create("services", s)), "metadata.name").message).to.contain("a DNS-1035 label must consist of");
      s.metadata.name = "web.v2";
      expect(fieldsOf(rejected(() => create("services", s)))).to.deep.equal(["metadata.name"]);
    });

    it("requires ports, unique by port and protocol and by name, and names when there are several", () => {
      const none = svc();
      none.spec.ports = [];
      expect(fieldsOf(rejected(() => create("services", none)))).to.deep.equal(["spec.ports"]);
      const s = svc();
      s.spec.ports = [{ name: "http", port: 80 }, { name: "http", port: 80 }, { port: 0 }];
      const e = rejected(() => create("services", s));
      expect(fieldsOf(e)).to.deep.equal(["spec.ports[1].name", "spec.ports[1]", "spec.ports[2].name", "spec.ports[2].port", "spec.ports[2].targetPort"]);
      expect(causeAt(e, "spec.ports[1]").message).to.equal('Duplicate value: {"port":80,"protocol":"TCP"}');
    });

    it("keeps nodePorts within 30000-32767 and off ClusterIP services", () => {
      const s = svc();
      s.spec.type = "NodePort";
      s.spec.ports = [{ name: "a", port: 80, nodePort: 8080 }, { name: "b", port: 81, nodePort: 30080 }];
      expect(causeAt(rejected(() => create("services", s)), "spec.ports[0].nodePort").message).to.equal(
        "Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767",
      );
      const c = svc();
      c.spec.ports[0].nodePort = 30080;
      expect(causeAt(rejected(() => create("services", c)), "spec.ports[0].nodePort").reason).to.equal("FieldValueForbidden");
    });

    it("checks the clusterIP format and accepts None for headless services", () => {
      const s = svc();
      s.spec.clusterIP = "127.96.0.300";
      expect(causeAt(rejected(() => create("services", s)), "spec.clusterIP").message).to.contain("must be a valid IP address");
      const headless = svc();
      headless.spec = { clusterIP: "None", selector: { app: "web" } };
      expect(create("services", headless).spec.clusterIPs).to.deep.equal(["None"]);
    });

    it("requires externalName on ExternalName services and refuses unknown types", () => {
      const s = svc();
      s.spec = { type: "ExternalName" };
      expect(fieldsOf(rejected(() => create("services", s)))).to.deep.equal(["spec.externalName"]);
      s.spec = { type: "Magic", ports: [{ port: 1 }] };
      expect(causeAt(rejected(() => create("services", s)), "spec.type").reason).to.equal("FieldValueNotSupported");
    });

    it("keeps an allocated clusterIP and nodePort when an update leaves them out, and refuses changing the clusterIP", () => {
      const before = svc();
      before.spec.type = "NodePort";
      before.spec.clusterIP = "127.96.0.10";
      before.spec.ports[0].nodePort = 30080;
      const old = stored("services", before);
      const next = clone(old);
      delete next.spec.clusterIP;
      delete next.spec.clusterIPs;
      delete next.spec.ports[0].nodePort;
      const out = update("services", next, old);
      expect(out.spec.clusterIP).to.equal("127.96.0.10");
      expect(out.spec.clusterIPs).to.deep.equal(["127.96.0.10"]);
      expect(out.spec.ports[0].nodePort).to.equal(30080);
      next.spec.clusterIP = "127.96.0.11";
      next.spec.clusterIPs = ["127.96.0.11"];
      expect(causeAt(rejected(() => update("services", next, old)), "spec.clusterIP").message).to.equal('Invalid value: "127.96.0.11": field is immutable');
    });

    it("checks load balancer ingress addresses on status writes", () => {
      const old = stored("services");
      const next = clone(old);
      next.status = { loadBalancer: { ingress: [{ ip: "nope" }] } };
      expect(fieldsOf(rejected(() => status("services", next, old)))).to.deep.equal(["status.loadBalancer.ingress[0].ip"]);
    });
  });

  describe("Endpoints", () => {
    it("defaults port protocols and accepts loopback addresses (process-engine pods live there)", () => {
      const out = create("endpoints", minimal("endpoints"));
      expect(out.subsets[0].ports).to.deep.equal([{ port: 8080, protocol: "TCP" }]);
      expect(out.subsets[0].addresses[0].ip).to.equal("127.0.0.1");
    });

    it("refuses bad addresses, empty subsets and unnamed ports when there are several", () => {
      const ep = minimal("endpoints");
      ep.subsets = [
        { addresses: [{ ip: "10.0.0.x" }], ports: [{ port: 80 }, { port: 81, name: "b" }] },
        { ports: [{ port: 80 }] },
      ];
      expect(fieldsOf(rejected(() => create("endpoints", ep)))).to.deep.equal([
        "subsets[0].addresses[0].ip",
        "subsets[0].ports[0].name",
        "subsets[1]",
      ]);
    });
  });
});
