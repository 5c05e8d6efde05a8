import { expect } from "chai";
import type { Pod } from "../../../bus/resources.ts";
import { formatResolvConf, parseResolvConf, podResolvConf } from "../../../actors/kubelet/resolv-conf.ts";

const pod = (spec: Partial<Pod["spec"]> = {}): Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "shop" }, spec: { containers: [], ...spec } });
const host = parseResolvConf("# host\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 timeout:2\n");
const s = { clusterDNS: ["10.96.0.10"], clusterDomain: "cluster.local", host };
const text = (p: Pod, o = s) => formatResolvConf(podResolvConf(p, o));

describe("kubelet › resolv.conf", () => {
  it("points ClusterFirst pods at the cluster DNS with the namespace search list and ndots:5", () => {
    expect(text(pod())).to.equal("nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n");
  });
  it("gives Default pods and host-network ClusterFirst pods the host's resolvers", () => {
    const hostText = "nameserver 127.0.0.53\nsearch corp.example\noptions edns0 timeout:2\n";
    expect(text(pod({ dnsPolicy: "Default" }))).to.equal(hostText);
    expect(text(pod({ hostNetwork: true }))).to.equal(hostText);
    expect(text(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }))).to.match(/^nameserver 10\.96\.0\.10\n/);
  });
  it("uses only dnsConfig with dnsPolicy None, and merges dnsConfig into the others", () => {
    const cfg = { nameservers: ["10.0.0.9"], searches: ["x.example"], options: [{ name: "ndots", value: "2" }, { name: "rotate" }] };
    expect(text(pod({ dnsPolicy: "None", dnsConfig: cfg }))).to.equal("nameserver 10.0.0.9\nsearch x.example\noptions ndots:2 rotate\n");
    expect(text(pod({ dnsConfig: cfg }))).to.equal("nameserver 10.96.0.10\nnameserver 10.0.0.9\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example x.example\noptions ndots:2 rotate\n");
  });
  it("falls back to the host's resolvers when the cluster has no DNS", () => {
    expect(text(pod(), { ...s, clusterDNS: [] })).to.match(/^nameserver 127\.0\.0\.53\n/);
  });
});
