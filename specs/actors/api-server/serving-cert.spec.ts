import { expect } from "chai";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePki, ensureServingCert, podFacingAddresses } from "../../../actors/api-server/certs.ts";

describe("api-server serving certificate", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "flotilla-serving-cert-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("names the kubernetes Service under every name a pod's search list gives it", () => {
    const cert = new X509Certificate(ensurePki(dir).certPem);
    for (const name of ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]) {
      expect(cert.checkHost(name), name).to.equal(name);
    }
  });

  it("adds the addresses pods use (the ClusterIP and the node bridge), and keeps them when another server adds its own", () => {
    const pki = ensurePki(dir);
    expect(new X509Certificate(pki.certPem).checkIP("10.96.0.1")).to.equal(undefined);
    const first = ensureServingCert(dir, ["10.96.0.1", "10.244.0.1"]);
    expect(first.issued).to.equal(true);
    const cert = new X509Certificate(first.certPem);
    expect(cert.checkIP("10.96.0.1")).to.equal("10.96.0.1");
    expect(cert.checkIP("10.244.0.1")).to.equal("10.244.0.1");
    expect(cert.verify(new X509Certificate(pki.caPem).publicKey)).to.equal(true);
    expect(ensureServingCert(dir, ["10.96.0.1"]).issued, "nothing missing: the certificate stays").to.equal(false);
    const second = new X509Certificate(ensureServingCert(dir, ["10.244.1.1"]).certPem);
    for (const ip of ["10.96.0.1", "10.244.0.1", "10.244.1.1", "127.0.0.1"]) expect(second.checkIP(ip), ip).to.equal(ip);
  });

  it("takes the pods' addresses from the kubernetes Service and the advertised address", () => {
    expect(podFacingAddresses({ spec: { clusterIP: "10.96.0.1", clusterIPs: ["10.96.0.1"] } }, "10.244.0.1")).to.deep.equal(["10.96.0.1", "10.244.0.1"]);
    expect(podFacingAddresses(undefined, "10.244.0.1")).to.deep.equal(["10.244.0.1"]);
    expect(podFacingAddresses({ spec: { clusterIP: "None" } }, "0.0.0.0")).to.deep.equal([]);
  });
});
