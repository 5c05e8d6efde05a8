/**
 * CronJob schedules as Kubernetes reads them (robfig/cron's standard parser): five fields, the
 * descriptors `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`, an
 * optional `TZ=`/`CRON_TZ=` prefix, and a time zone from `spec.timeZone`. Parsing and stepping go
 * through cron-parser; this file only decides what is accepted. Pure: the reference time is passed in.
 *
 * @example nextAfter(parseSchedule("*\/5 * * * *"), new Date("2026-03-01T12:02:00Z")) // 12:05
 */
import { CronExpressionParser } from "cron-parser";

const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

export interface Schedule {
  /** The five-field expression after descriptors and any TZ prefix were resolved. */
  expression: string;
  /** IANA zone the fields are read in ("UTC" when none was given). */
  timeZone: string;
}

export class ScheduleError extends Error {
  override readonly name = "ScheduleError";
}

/** True when `tz` is a time zone the runtime knows (what Go's time.LoadLocation accepts, roughly). */
export function isTimeZone(tz: string): boolean {
  if (tz === "" || tz === "Local") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Does the schedule carry its own `TZ=` / `CRON_TZ=` prefix? */
export const hasTzPrefix = (schedule: string): boolean => /^\s*(CRON_)?TZ=/.test(schedule);

/** Parses a CronJob schedule; throws ScheduleError with a robfig-like message. */
export function parseSchedule(schedule: string, timeZone?: string): Schedule {
  let spec = schedule.trim();
  let tz = timeZone ?? "UTC";
  const m = /^(?:CRON_)?TZ=(\S+)\s+(.*)$/.exec(spec);
  if (m) {
    tz = m[1]!;
    spec = m[2]!.trim();
  }
  if (!isTimeZone(tz)) throw new ScheduleError(`provided bad location ${tz}: unknown time zone ${tz}`);
  if (spec.startsWith("@")) {
    const expanded = DESCRIPTORS[spec];
    if (!expanded) throw new ScheduleError(`unrecognized descriptor: ${spec}`);
    spec = expanded;
  }
  const fields = spec.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) throw new ScheduleError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
  const expression = fields.join(" ");
  try {
    CronExpressionParser.parse(expression, { tz, currentDate: new Date(0) }).next();
  } catch (e) {
    throw new ScheduleError((e as Error).message);
  }
  return { expression, timeZone: tz };
}

/** The first schedule time strictly after `t`. */
export function nextAfter(s: Schedule, t: Date): Date {
  return CronExpressionParser.parse(s.expression, { tz: s.timeZone, currentDate: t }).next().toDate();
}
