/** One line per call on stderr: `time level component msg {fields}`. FLOTILLA_LOG sets the level. */
export interface Logger {
  debug(msg: string, fields?: object): void;
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  error(msg: string, fields?: object): void;
  child(fields: object): Logger;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof LEVELS;

function threshold(): number {
  const l = (process.env.FLOTILLA_LOG ?? "info") as Level;
  return LEVELS[l] ?? LEVELS.info;
}

export function createLogger(component: string, base: object = {}): Logger {
  const write = (level: Exclude<Level, "silent">, msg: string, fields?: object) => {
    if (LEVELS[level] < threshold()) return;
    const all = { ...base, ...fields };
    const extra = Object.keys(all).length ? " " + JSON.stringify(all) : "";
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${component} ${msg}${extra}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (f) => createLogger(component, { ...base, ...f }),
  };
}
