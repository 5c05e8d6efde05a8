/** A logger that writes nothing, for specs that provoke warnings on purpose. */
import type { Logger } from "../../runtime/logger.ts";

export const quietLog: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => quietLog,
};
