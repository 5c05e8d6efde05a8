/**
 * Termination messages (Kubernetes' terminationMessagePath / terminationMessagePolicy): each
 * container attempt gets a file of its own on the node, mounted at its terminationMessagePath
 * (default /dev/termination-log); once the container has exited, what it wrote there (at most
 * 4096 bytes) becomes `state.terminated.message` (and later `lastState.terminated.message`). With
 * `FallbackToLogsOnError`, an empty file and a non-zero exit take the log's tail instead (at most 80
 * lines and 2048 bytes).
 *
 * The docker and cri engines mount the file for every container. The process engine runs host processes:
 * run as root, it gives every container a mount namespace with a private /dev (a tmpfs with the
 * usual devices, volumes/mount-namespace.ts), so the file is mounted at the default
 * /dev/termination-log (or any other path) without touching the host's own /dev. Without root
 * there are no mount namespaces: only the log fallback works.
 */
import type { Container } from "../../bus/resources.ts";
import type { Engine, EngineContainer, HostMount } from "./engines/types.ts";
import { closeSync, existsSync, mkdirSync, openSync, readSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { canMountNamespaces } from "./volumes/mount-namespace.ts";

export const MAX_MESSAGE_BYTES = 4096;
export const FALLBACK_LOG_LINES = 80;
export const FALLBACK_LOG_BYTES = 2048;
export const DEFAULT_MESSAGE_PATH = "/dev/termination-log";

/** The host file of one attempt: `<podDir>/termination/<container>-<attempt>`. */
export const messageFile = (podDir: string, name: string, attempt: number) => join(podDir, "termination", `${name}-${attempt}`);

/**
 * The mount to add for this container, or undefined when the engine does not take one (the
 * process engine without root: no mount namespace to put it in).
 */
export function terminationMount(engine: string, podDir: string, spec: Container, attempt: number, o: { mountNamespaces?: boolean } = {}): HostMount | undefined {
  const target = spec.terminationMessagePath || DEFAULT_MESSAGE_PATH;
  if (engine === "process" && (!(o.mountNamespaces ?? canMountNamespaces()) || target === "/dev" || target === "/")) return undefined;
  if (engine !== "docker" && engine !== "process" && engine !== "cri") return undefined;
  const file = messageFile(podDir, spec.name, attempt);
  mkdirSync(join(podDir, "termination"), { recursive: true, mode: 0o755 });
  writeFileSync(file, "");
  chmodSync(file, 0o666);
  return { source: file, target, readOnly: false };
}

function readHead(file: string, max: number): string {
  if (!existsSync(file)) return "";
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, 0);
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** The message of an exited container: its file, else (FallbackToLogsOnError, non-zero exit) its log's tail. */
export async function terminationMessage(engine: Engine, podDir: string | undefined, spec: Container | undefined, c: EngineContainer): Promise<string> {
  const fromFile = podDir ? readHead(messageFile(podDir, c.name, c.attempt), MAX_MESSAGE_BYTES) : "";
  if (fromFile || spec?.terminationMessagePolicy !== "FallbackToLogsOnError" || (c.exitCode ?? 0) === 0) return fromFile;
  const logs = await engine.logs(c.id, { tailLines: FALLBACK_LOG_LINES });
  let text = "";
  try {
    for await (const chunk of logs.chunks) text += chunk;
  } finally {
    logs.cancel();
  }
  const bytes = Buffer.from(text, "utf8");
  return bytes.length > FALLBACK_LOG_BYTES ? bytes.subarray(bytes.length - FALLBACK_LOG_BYTES).toString("utf8") : text;
}
