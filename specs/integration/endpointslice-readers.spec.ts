/**
 * The proxy and the DNS read EndpointSlices: a Service whose EndpointSlice and Endpoints disagree
 * is served from the slice (the proxy forwards to the slice's address; the DNS answers a headless
 * Service with the slice's ready addresses), and a Service without any slice still falls back to
 * its Endpoints.
 */
import { expect } from "chai";
import dgram from "node:dgram";
import { createServer, get as httpGet, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as packet from "dns-packet";
import type { TestCluster } from "../harness/cluster.ts";
import type { Endpoints, Service } from "../../bus/resources.ts";
import type { EndpointSlice } from "../../bus/networking.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { dns } from "../../actors/dns/index.ts";
import { proxy } from "../../actors/proxy/index.ts";

async function udpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  const port = await new Promise<number>((r) => s.bind(0, "127.0.0.1", () => r(s.address().port)));
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
function aRecords(port: number, name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      reject(new Error("no answer"));
    }, 1000);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve((packet.decode(m).answers ?? []).filter((a) => a.type === "A").map((a) => (a as { data: string }).data).sort());
    });
    s.send(packet.encode({ id: 1, type: "query", flags: packet.RECURSION_DESIRED, questions: [{ name, type: "A" }] }), port, "127.0.0.1");
  });
}
const fetchText = (url: string) =>
  new Promise<string>((resolve, reject) => {
    httpGet(url, (res) => {
      let b = "";
      res.on("data", (d) => (b += d));
      res.on("end", () => resolve(b));
    }).on("error", reject);
  });
const slice = (svc: string, ips: { ip: string; ready: boolean }[], port?: number): EndpointSlice => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${svc}-manual`, labels: { "kubernetes.io/service-name": svc, "endpointslice.kubernetes.io/managed-by": "manual.example.com" } },
  addressType: "IPv4",
  endpoints: ips.map((x) => ({ addresses: [x.ip], conditions: { ready: x.ready } })),
  ports: port ? [{ name: "http", port, protocol: "TCP" }] : [],
});

describe("proxy and DNS reading EndpointSlices (integration)", function () {
  this.timeout(60_000);
  let c: TestCluster;
  let dnsPort: number;
  let server: Server;
  let serverPort: number;
  before(async () => {
    server = createServer((_q, r) => r.end("from the slice"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    serverPort = (server.address() as AddressInfo).port;
    dnsPort = await udpPort();
    c = await startTestCluster({ actors: [{ def: dns, opts: { listen: `127.0.0.1:${dnsPort}`, upstreams: [], register: false } }, { def: proxy, opts: { nodeName: "n1", mode: "userspace" } }] });
  });
  after(async () => {
    await c?.stop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it("forwards a Service's traffic to its EndpointSlice's address, not to disagreeing Endpoints", async () => {
    const svc = await c.store.create<Service>("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "sliced" }, spec: { ports: [{ name: "http", port: 8090 }] } } as Service);
    // Endpoints that lead nowhere: only the slice is right.
    await c.store.create("endpoints", "default", { apiVersion: "v1", kind: "Endpoints", metadata: { name: "sliced" }, subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "http", port: 1 }] }] } as Endpoints);
    await c.store.create("endpointslices", "default", slice("sliced", [{ ip: "127.0.0.1", ready: true }], serverPort));
    const url = `http://${svc.spec.clusterIP}:8090/`;
    expect(await waitFor(() => fetchText(url).catch(() => undefined), { timeoutMs: 10_000, what: "the ClusterIP answering" })).to.equal("from the slice");
  });

  it("answers a headless Service with its slice's ready addresses, and with its Endpoints while it has no slice", async () => {
    await c.store.create("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "headless" }, spec: { clusterIP: "None", ports: [{ name: "http", port: 80 }] } } as Service);
    await c.store.create("endpoints", "default", { apiVersion: "v1", kind: "Endpoints", metadata: { name: "headless" }, subsets: [{ addresses: [{ ip: "10.1.0.9" }], ports: [{ name: "http", port: 80 }] }] } as Endpoints);
    const name = "headless.default.svc.cluster.local";
    await waitFor(async () => (await aRecords(dnsPort, name)).join() === "10.1.0.9", { timeoutMs: 5000, what: "the Endpoints' address" });
    await c.store.create("endpointslices", "default", slice("headless", [{ ip: "10.1.0.1", ready: true }, { ip: "10.1.0.2", ready: false }, { ip: "10.1.0.3", ready: true }], 80));
    await waitFor(async () => (await aRecords(dnsPort, name)).join() === "10.1.0.1,10.1.0.3", { timeoutMs: 5000, what: "the slice's ready addresses" });
  });
});
