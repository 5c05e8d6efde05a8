/**
 * Test hosts and pods as network namespaces this spec creates itself (names with a per-run prefix,
 * addresses the spec chooses from 10.199.0.0/24, 10.244.0.0/16 and 10.96.0.0/12), removed in
 * `cleanup()` with everything that runs inside them.
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";

export const canUseNetns = (): boolean => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    execFileSync("iptables", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

export class NetnsLab {
  readonly prefix = `flt${randomBytes(2).toString("hex")}`;
  private readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private links = 0;

  sh(ns: string | undefined, cmd: string): string {
    const args = ns ? ["netns", "exec", ns, "sh", "-c", cmd] : [];
    return ns ? execFileSync("ip", args, { encoding: "utf8" }) : execFileSync("sh", ["-c", cmd], { encoding: "utf8" });
  }

  /** A new namespace with loopback up; `name` is prefixed with this lab's id. */
  netns(name: string): string {
    const ns = `${this.prefix}-${name}`;
    execFileSync("ip", ["netns", "add", ns]);
    this.namespaces.push(ns);
    this.sh(ns, "ip link set lo up");
    return ns;
  }

  /** A host namespace with a bridge `br0` at `gw/prefixLen`, forwarding on, bridged traffic through iptables. */
  host(name: string, gwCidr: string): string {
    const ns = this.netns(name);
    this.sh(ns, `ip link add br0 type bridge && ip addr add ${gwCidr} dev br0 && ip link set br0 up && sysctl -qw net.ipv4.ip_forward=1 && sysctl -qw net.bridge.bridge-nf-call-iptables=1`);
    return ns;
  }

  /** A "LAN": a namespace holding bridge `lan0` that test hosts attach to. */
  lan(name: string): string {
    const ns = this.netns(name);
    this.sh(ns, "ip link add lan0 type bridge && ip link set lan0 up");
    return ns;
  }

  /** A plain host namespace with `eth0` at `ipCidr` on `lan`'s bridge. */
  lanHost(lan: string, name: string, ipCidr: string): string {
    const ns = this.netns(name);
    const a = `v${this.prefix.slice(3)}${this.links++}`;
    execFileSync("ip", ["link", "add", `${a}a`, "type", "veth", "peer", "name", `${a}b`]);
    execFileSync("ip", ["link", "set", `${a}a`, "netns", lan]);
    execFileSync("ip", ["link", "set", `${a}b`, "netns", ns]);
    this.sh(lan, `ip link set ${a}a master lan0 && ip link set ${a}a up`);
    this.sh(ns, `ip link set ${a}b name eth0 && ip addr add ${ipCidr} dev eth0 && ip link set eth0 up`);
    return ns;
  }

  /**
   * A veth from this (the spec's own) namespace into `ns`: `ns` gets `eth0` at `nsCidr`, this side
   * `localCidr`, so actors running in the spec's process (NATS clients, the dns actor) serve a test
   * host. The pair goes with `ns` at cleanup.
   */
  uplink(ns: string, nsCidr: string, localCidr: string): string {
    const a = `v${this.prefix.slice(3)}${this.links++}`;
    execFileSync("ip", ["link", "add", `${a}a`, "type", "veth", "peer", "name", `${a}b`]);
    execFileSync("ip", ["link", "set", `${a}b`, "netns", ns]);
    execFileSync("ip", ["addr", "add", localCidr, "dev", `${a}a`]);
    execFileSync("ip", ["link", "set", `${a}a`, "up"]);
    this.sh(ns, `ip link set ${a}b name eth0 && ip addr add ${nsCidr} dev eth0 && ip link set eth0 up`);
    return `${a}a`;
  }

  /** A veth from this (the spec's own) namespace onto `lan`'s bridge, this side at `localCidr`. */
  lanUplink(lan: string, localCidr: string): string {
    const a = `v${this.prefix.slice(3)}${this.links++}`;
    execFileSync("ip", ["link", "add", `${a}a`, "type", "veth", "peer", "name", `${a}b`]);
    execFileSync("ip", ["link", "set", `${a}b`, "netns", lan]);
    execFileSync("ip", ["addr", "add", localCidr, "dev", `${a}a`]);
    execFileSync("ip", ["link", "set", `${a}a`, "up"]);
    this.sh(lan, `ip link set ${a}b master lan0 && ip link set ${a}b up`);
    return `${a}a`;
  }

  /** Takes a host's LAN link down (or up again), as a cut cable would. */
  link(host: string, up: boolean): void {
    this.sh(host, `ip link set eth0 ${up ? "up" : "down"}`);
  }

  /** A pod namespace at `ipCidr` on `host`'s bridge, default route via `gw`. */
  pod(host: string, name: string, ipCidr: string, gw: string): string {
    const ns = this.netns(name);
    const a = `v${this.prefix.slice(3)}${this.links++}`;
    execFileSync("ip", ["link", "add", `${a}a`, "type", "veth", "peer", "name", `${a}b`]);
    execFileSync("ip", ["link", "set", `${a}a`, "netns", host]);
    execFileSync("ip", ["link", "set", `${a}b`, "netns", ns]);
    this.sh(host, `ip link set ${a}a master br0 && ip link set ${a}a up`);
    this.sh(ns, `ip link set ${a}b name eth0 && ip addr add ${ipCidr} dev eth0 && ip link set eth0 up && ip route add default via ${gw}`);
    return ns;
  }

  /** Starts a long-running command inside `ns` (stopped by cleanup). */
  spawn(ns: string, argv: string[]): ChildProcess {
    const p = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: "ignore", detached: true });
    this.procs.push(p);
    return p;
  }

  /** A busybox httpd in `ns` on `port` whose `/` answers `body`. */
  httpd(ns: string, port: number, body: string): void {
    const dir = this.sh(undefined, "mktemp -d").trim();
    this.sh(undefined, `printf '%s' '${body}' > ${dir}/index.html`);
    this.spawn(ns, ["busybox", "httpd", "-f", "-p", String(port), "-h", dir]);
  }

  /** `busybox wget` from inside `ns`; undefined when it fails. */
  get(ns: string, url: string): string | undefined {
    try {
      return execFileSync("ip", ["netns", "exec", ns, "busybox", "wget", "-q", "-O-", url], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      return undefined;
    }
  }

  /**
   * `busybox wget` from inside `ns` without blocking the event loop (NATS clients in this process
   * keep their pings going meanwhile); undefined when it fails or takes longer than `timeoutMs`.
   */
  fetch(ns: string, url: string, timeoutMs = 5000): Promise<string | undefined> {
    return new Promise((resolve) => {
      const p = spawn("ip", ["netns", "exec", ns, "busybox", "wget", "-q", "-O-", url], { stdio: ["ignore", "pipe", "ignore"], timeout: timeoutMs, killSignal: "SIGKILL" });
      let out = "";
      p.stdout!.on("data", (d) => (out += d));
      p.once("error", () => resolve(undefined));
      p.once("close", (code) => resolve(code === 0 ? out : undefined));
    });
  }

  cleanup(): void {
    for (const p of this.procs) {
      try {
        if (p.pid) process.kill(-p.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    for (const ns of this.namespaces.reverse()) {
      try {
        // Anything still running inside goes with it.
        const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n").filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), "SIGKILL");
      } catch {
        /* ignore */
      }
      try {
        execFileSync("ip", ["netns", "del", ns]);
      } catch {
        /* ignore */
      }
    }
  }
}
