/**
 * schedule: next-run math for periodic backup tasks (issue 6, "Tasks and scheduling"), as
 * pure functions. Cron expressions are evaluated by croner in an explicit IANA time zone
 * (UTC unless the task says otherwise). Croner jobs are created with `paused: true` and no
 * callback, so nothing here starts a timer; the clock is always passed in (`after`).
 *
 * Daylight-saving time follows croner: a wall-clock time skipped by a spring-forward switch
 * (02:30 in Europe/Oslo on 2026-03-29) runs at the first valid instant after the gap
 * (03:00 local), and a time repeated in autumn runs once.
 */
import { Cron } from 'croner';
import { InvalidArgumentError } from '../errors.js';

/** RunKind: what a scheduled run produces. */
export type RunKind = 'full' | 'incremental';

/** ScheduleTask: the scheduling part of a periodic backup task. */
export interface ScheduleTask {
  /** Cron (5 or 6 fields) for full backups; absent for an incremental-only task. */
  fullCron?: string;
  /** Cron (5 or 6 fields) for incremental backups; absent for a full-only task. */
  incrementalCron?: string;
  /** IANA time zone the expressions are read in. Default 'UTC'. */
  timeZone?: string;
  /** Runs strictly before this instant are skipped (a delayed task). */
  delayedUntil?: Date;
  /**
   * False when the destination holds no full backup of the task yet: the first run is
   * then a full, whichever schedule fires it (an incremental needs a chain to extend).
   * Default true.
   */
  hasFullYet?: boolean;
}

/** ScheduledRun: one upcoming run. */
export interface ScheduledRun {
  at: Date;
  kind: RunKind;
}

/** validateTimeZone: throws InvalidArgumentError unless `timeZone` is an IANA zone this runtime knows. */
export function validateTimeZone(timeZone: string): void {
  if (typeof timeZone !== 'string' || timeZone.trim() === '') {
    throw new InvalidArgumentError(`Expected an IANA time zone name (like 'Europe/Oslo' or 'UTC') but received ${JSON.stringify(timeZone)}`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new InvalidArgumentError(`unknown time zone ${JSON.stringify(timeZone)}: expected an IANA time zone name like 'Europe/Oslo' or 'UTC'`);
  }
}

/** `what` names the schedule in messages: 'full ', 'incremental ' or ''. */
function makeCron(expr: string, timeZone: string, what: string): Cron {
  if (typeof expr !== 'string' || expr.trim() === '') {
    throw new InvalidArgumentError(`invalid ${what}cron expression ${JSON.stringify(expr)}: expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first`);
  }
  try {
    // paused + no callback: croner schedules nothing; we only ask it for dates.
    return new Cron(expr, { paused: true, timezone: timeZone });
  } catch (err) {
    const detail = (err as Error).message.replace(/^CronPattern:\s*/, '');
    throw new InvalidArgumentError(`invalid ${what}cron expression ${JSON.stringify(expr)}: ${detail}`);
  }
}

/**
 * validateCron: throws InvalidArgumentError with a clear message when `expr` is not a
 * cron expression croner accepts, or `timeZone` (default 'UTC') is not a known IANA zone.
 * `which` names the schedule in the message ("invalid full cron expression …").
 */
export function validateCron(expr: string, timeZone = 'UTC', which?: 'full' | 'incremental'): void {
  validateTimeZone(timeZone);
  makeCron(expr, timeZone, which ? `${which} ` : '');
}

/**
 * nextRuns: the next `count` runs of `task` strictly after `after`, in time order, merging
 * the full and incremental schedules. When both fire in the same minute the run is one
 * full. Runs before `task.delayedUntil` are skipped. With `hasFullYet: false` the first
 * returned run is a full. A task with no schedule has no runs. Throws InvalidArgumentError
 * for a bad expression, time zone, date or count.
 *
 * @example
 * ```ts
 * nextRuns({ fullCron: '0 2 * * 0', incrementalCron: '0 * * * *', timeZone: 'Europe/Oslo' }, new Date(), 3);
 * // → [{ at, kind: 'incremental' }, …]
 * ```
 */
export function nextRuns(task: ScheduleTask, after: Date, count: number): ScheduledRun[] {
  if (task === null || typeof task !== 'object') throw new InvalidArgumentError(`Expected an object for task but received ${String(task)}`);
  if (!(after instanceof Date) || Number.isNaN(after.getTime())) throw new InvalidArgumentError(`Expected a valid Date for after but received ${String(after)}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new InvalidArgumentError(`Expected a non-negative integer for count but received ${String(count)}`);
  if (task.delayedUntil !== undefined && (!(task.delayedUntil instanceof Date) || Number.isNaN(task.delayedUntil.getTime()))) {
    throw new InvalidArgumentError(`Expected a valid Date for delayedUntil but received ${String(task.delayedUntil)}`);
  }
  const timeZone = task.timeZone ?? 'UTC';
  validateTimeZone(timeZone);
  const full = task.fullCron !== undefined ? makeCron(task.fullCron, timeZone, 'full ') : undefined;
  const incr = task.incrementalCron !== undefined ? makeCron(task.incrementalCron, timeZone, 'incremental ') : undefined;
  if (count === 0 || (!full && !incr)) return [];

  // Start just before delayedUntil when it is later, so a run exactly at it still counts
  // (croner's nextRun(from) is exclusive of `from`).
  let from = after;
  if (task.delayedUntil && task.delayedUntil.getTime() - 1 > after.getTime()) from = new Date(task.delayedUntil.getTime() - 1);

  const minute = (d: Date): number => Math.floor(d.getTime() / 60_000);
  let nextFull = full?.nextRun(from) ?? null;
  let nextIncr = incr?.nextRun(from) ?? null;
  const runs: ScheduledRun[] = [];
  let needFull = task.hasFullYet === false;
  while (runs.length < count && (nextFull || nextIncr)) {
    let run: ScheduledRun;
    if (nextFull && (!nextIncr || minute(nextFull) <= minute(nextIncr))) {
      run = { at: nextFull, kind: 'full' };
      // Incrementals in the same minute are the same run.
      while (nextIncr && minute(nextIncr) === minute(nextFull)) nextIncr = incr!.nextRun(nextIncr);
      nextFull = full!.nextRun(nextFull);
    } else {
      run = { at: nextIncr!, kind: 'incremental' };
      nextIncr = incr!.nextRun(nextIncr!);
    }
    if (needFull) {
      run = { at: run.at, kind: 'full' };
      needFull = false;
    }
    runs.push(run);
  }
  return runs;
}
