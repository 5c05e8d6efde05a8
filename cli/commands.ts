/** Everyday commands (get, apply, describe, …) are registered here. */
import type { Command } from "commander";

export function registerCommands(_program: Command): void {}
