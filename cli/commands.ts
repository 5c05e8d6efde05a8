/** Everyday commands (get, apply, describe, …) are registered here. */
import type { Command } from "commander";
import { registerGet } from "./cmd-get.ts";
import { registerApply } from "./cmd-apply.ts";
import { registerDescribe } from "./cmd-describe.ts";
import { registerLogs } from "./cmd-logs.ts";
import { registerRollout } from "./cmd-rollout.ts";
import { registerNode } from "./cmd-node.ts";
import { registerEvents } from "./cmd-events.ts";
import { registerStatus } from "./cmd-status.ts";
import { registerServer } from "./cmd-server.ts";
import { registerImage } from "./cmd-image.ts";

export function registerCommands(program: Command): void {
  registerGet(program);
  registerApply(program);
  registerDescribe(program);
  registerLogs(program);
  registerRollout(program);
  registerNode(program);
  registerEvents(program);
  registerStatus(program);
  registerServer(program);
  registerImage(program);
}
