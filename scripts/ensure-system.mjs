#!/usr/bin/env node
// Makes sure the system packages Flotilla needs are there before `npm start` / `npm test`.
//   node scripts/ensure-system.mjs start|test
// nats-server (and busybox-static for the example app and test images) via apt-get when we are
// root; for `test` also docker.io and a running dockerd. Quiet and idempotent when all is there.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";

const mode = process.argv[2] === "test" ? "test" : "start";
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: "ignore" }).status === 0;
const run = (cmd, args) => spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
const say = (s) => process.stderr.write(`ensure-system: ${s}\n`);

let aptUpdated = false;
function aptInstall(pkgs) {
  if (!aptUpdated) {
    say("apt-get update");
    run("apt-get", ["update", "-qq"]);
    aptUpdated = true;
  }
  say(`apt-get install -y ${pkgs.join(" ")}`);
  return run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs]);
}

const dockerAnswers = () => spawnSync("docker", ["info"], { stdio: "ignore", timeout: 10_000 }).status === 0;

async function ensureDockerd() {
  if (dockerAnswers()) return true;
  if (!isRoot || !has("dockerd")) return false;
  // Never a second daemon: only when nothing answers on the socket and no dockerd runs.
  if (spawnSync("pgrep", ["-x", "dockerd"], { stdio: "ignore" }).status === 0) {
    for (let i = 0; i < 60 && !dockerAnswers(); i++) await new Promise((r) => setTimeout(r, 500));
    return dockerAnswers();
  }
  say("starting dockerd --live-restore (log: /var/log/dockerd.log)");
  const log = openSync("/var/log/dockerd.log", "a");
  spawn("dockerd", ["--live-restore"], { detached: true, stdio: ["ignore", log, log] }).unref();
  for (let i = 0; i < 60; i++) {
    if (dockerAnswers()) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  say("dockerd did not answer in 30 s; the docker engine specs will be skipped (and fail under CI=true)");
  return false;
}

// npm dependencies first: `npm start` / `npm test` in a fresh clone works without a separate install.
if (!existsSync(new URL("../node_modules/.package-lock.json", import.meta.url))) {
  say("installing npm dependencies (npm ci)");
  if (!run("npm", ["ci", "--no-audit", "--no-fund"])) process.exit(1);
}

const missing = [];
if (!has("nats-server")) missing.push("nats-server");
if (!existsSync("/bin/busybox") && !existsSync("/usr/bin/busybox")) missing.push("busybox-static");
if (mode === "test" && !has("dockerd")) missing.push("docker.io");
if (mode === "test" && !existsSync("/usr/bin/chromium")) missing.push("chromium");
if (mode === "test" && !has("kubectl")) missing.push("kubernetes-client");
if (mode === "test" && spawnSync("/usr/bin/python3", ["-c", "import kubernetes"], { stdio: "ignore" }).status !== 0) missing.push("python3-kubernetes");
if (mode === "test" && !has("ip")) missing.push("iproute2");
if (mode === "test" && !has("iptables")) missing.push("iptables");
// The cri engine's specs: a private containerd (CRI plugin) and the CNI plugins.
if (mode === "test" && !(existsSync("/usr/bin/containerd") && existsSync("/usr/bin/ctr"))) missing.push("containerd");
if (mode === "test" && !existsSync("/usr/lib/cni/bridge")) missing.push("containernetworking-plugins");

if (missing.length) {
  if (!isRoot) {
    say(`missing ${missing.join(", ")}: run \`sudo apt-get install -y ${missing.join(" ")}\` (Debian/Ubuntu), then try again`);
    if (missing.includes("nats-server")) process.exit(1);
  } else if (!aptInstall(missing)) {
    say(`apt-get could not install ${missing.join(" ")}`);
    if (!has("nats-server")) process.exit(1);
  }
}

if (mode === "test") await ensureDockerd();
// `npm start` stays light: it installs nothing for Docker, and starts dockerd only when docker.io is
// already installed and the engine is left to `up` to pick (FLOTILLA_ENGINE unset; npm does not
// pass `npm start -- --engine …` to this pre-script).
else if (!process.env.FLOTILLA_ENGINE && has("dockerd")) await ensureDockerd();
