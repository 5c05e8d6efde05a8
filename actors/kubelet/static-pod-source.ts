/**
 * The kubelet's file source: reads the pod manifests in a directory (`<data-dir>/manifests` by
 * default, the real kubelet's `staticPodPath`), follows it (inotify through `fs.watch`, plus a
 * rescan every few seconds for what inotify misses: a directory created later, editors that
 * replace files) and tells which pod keys changed. A bad manifest is logged and skipped; the
 * others still run.
 *
 * @example
 *   const src = new StaticPodSource({ dir, nodeName: "n1", log, onChange: (keys) => keys.forEach(k => queue.add(k)) });
 *   await src.start();
 *   src.get("kube-system", "kube-scheduler-n1");
 */
import type { FSWatcher } from "node:fs";
import type { Pod } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import { watch } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { isManifestFile, parseManifest, staticPod } from "./static-pods.ts";

export interface StaticPodSourceOptions {
  dir: string;
  nodeName: string;
  log: Logger;
  /** Pod keys (`<namespace>/<name>`) that appeared, changed or went away. */
  onChange(keys: string[]): void;
  /** How often the directory is read again without an inotify event (default 5 s). */
  rescanMs?: number;
}

const keyOf = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;

export class StaticPodSource {
  private pods = new Map<string, Pod>();
  private readonly complaints = new Map<string, string>(); // file → last error logged
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private scanning: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: StaticPodSourceOptions) {}

  get(namespace: string, name: string): Pod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  list(): Pod[] {
    return [...this.pods.values()];
  }

  /** Reads the directory once (the pods are known when this resolves), then follows it. */
  async start(): Promise<void> {
    await this.rescan();
    this.timer = setInterval(() => this.schedule(0), this.o.rescanMs ?? 5_000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.watcher?.close();
  }

  /** Reads the directory again now (after this resolves, the pods reflect the files). */
  rescan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scan()).catch((e) => this.o.log.warn("reading static pod manifests failed", { dir: this.o.dir, error: (e as Error).message }));
    return this.scanning;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.rescan(), delayMs);
    this.debounce.unref();
  }

  private follow(): void {
    if (this.watcher || this.stopped) return;
    try {
      this.watcher = watch(this.o.dir, () => this.schedule(50));
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // no directory yet: the rescan finds it
    }
  }

  private async scan(): Promise<void> {
    if (this.stopped) return;
    let names: string[];
    try {
      names = (await readdir(this.o.dir)).filter(isManifestFile).sort();
      this.follow();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      names = [];
    }
    const next = new Map<string, Pod>();
    for (const file of names) {
      const path = join(this.o.dir, file);
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch {
        continue; // removed between readdir and read
      }
      const parsed = parseManifest(text);
      const pod = parsed.ok ? staticPod(parsed.manifest, this.o.nodeName) : undefined;
      const problem = !parsed.ok ? parsed.error : next.has(keyOf(pod!)) ? `another manifest already defines pod ${keyOf(pod!)}` : undefined;
      if (problem) {
        if (this.complaints.get(path) !== problem) this.o.log.warn("static pod manifest skipped", { file: path, error: problem });
        this.complaints.set(path, problem);
        continue;
      }
      this.complaints.delete(path);
      next.set(keyOf(pod!), pod!);
    }
    const changed = [...new Set([...this.pods.keys(), ...next.keys()])].filter((k) => this.pods.get(k)?.metadata.uid !== next.get(k)?.metadata.uid);
    this.pods = next;
    if (changed.length && !this.stopped) {
      this.o.log.info("static pods changed", { pods: changed });
      this.o.onChange(changed);
    }
  }
}
