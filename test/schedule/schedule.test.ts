/**
 * Schedule tests: next-run math in UTC and across a DST switch, merging of full and
 * incremental schedules, the first-run-is-full rule, delays, and validation errors.
 * Everything is computed from an explicit `after`; no timers, no real clock.
 */
import { describe, expect, it } from 'vitest';
import { nextRuns, validateCron, validateTimeZone } from '../../src/schedule/index.js';
import type { ScheduledRun } from '../../src/schedule/index.js';
import { ErrorCodes, InvalidArgumentError } from '../../src/errors.js';

const iso = (runs: ScheduledRun[]): string[] => runs.map((r) => `${r.at.toISOString()} ${r.kind}`);
const thrown = (fn: () => unknown): InvalidArgumentError => {
  try {
    fn();
  } catch (err) {
    return err as InvalidArgumentError;
  }
  throw new Error('expected a throw');
};

describe('nextRuns', () => {
  it('evaluates in UTC by default, strictly after `after`', () => {
    const runs = nextRuns({ fullCron: '0 2 * * *' }, new Date('2026-03-27T02:00:00.000Z'), 3);
    expect(iso(runs)).toEqual(['2026-03-28T02:00:00.000Z full', '2026-03-29T02:00:00.000Z full', '2026-03-30T02:00:00.000Z full']);
  });

  it('evaluates in an explicit zone across the spring DST switch (Europe/Oslo, 2026-03-29)', () => {
    // 03:00 local is 02:00Z in CET (UTC+1) and 01:00Z in CEST (UTC+2).
    const at3 = nextRuns({ fullCron: '0 3 * * *', timeZone: 'Europe/Oslo' }, new Date('2026-03-27T12:00:00Z'), 3);
    expect(iso(at3)).toEqual(['2026-03-28T02:00:00.000Z full', '2026-03-29T01:00:00.000Z full', '2026-03-30T01:00:00.000Z full']);
    // 02:30 local does not exist on 2026-03-29: the run happens once, at the end of the gap (03:00 CEST).
    const at230 = nextRuns({ incrementalCron: '30 2 * * *', timeZone: 'Europe/Oslo' }, new Date('2026-03-27T12:00:00Z'), 3);
    expect(iso(at230)).toEqual(['2026-03-28T01:30:00.000Z incremental', '2026-03-29T01:00:00.000Z incremental', '2026-03-30T00:30:00.000Z incremental']);
  });

  it('evaluates in an explicit zone across the autumn DST switch (Europe/Oslo, 2026-10-25): a repeated hour runs once', () => {
    const runs = nextRuns({ fullCron: '30 2 * * *', timeZone: 'Europe/Oslo' }, new Date('2026-10-24T12:00:00Z'), 2);
    expect(runs).toHaveLength(2);
    expect(runs[1].at.getTime() - runs[0].at.getTime()).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(runs[1].at.toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });

  it('merges full and incremental schedules in time order', () => {
    // 2026-03-29 is a Sunday.
    const runs = nextRuns({ fullCron: '0 2 * * 0', incrementalCron: '0 */6 * * *' }, new Date('2026-03-28T13:00:00Z'), 5);
    expect(iso(runs)).toEqual([
      '2026-03-28T18:00:00.000Z incremental',
      '2026-03-29T00:00:00.000Z incremental',
      '2026-03-29T02:00:00.000Z full',
      '2026-03-29T06:00:00.000Z incremental',
      '2026-03-29T12:00:00.000Z incremental',
    ]);
  });

  it('makes one full run when both schedules fire in the same minute', () => {
    const runs = nextRuns({ fullCron: '0 0 * * 0', incrementalCron: '0 */12 * * *' }, new Date('2026-03-28T13:00:00Z'), 3);
    expect(iso(runs)).toEqual(['2026-03-29T00:00:00.000Z full', '2026-03-29T12:00:00.000Z incremental', '2026-03-30T00:00:00.000Z incremental']);
    // With seconds: incrementals every 20 s within the full's minute all fold into the full.
    const secs = nextRuns({ fullCron: '0 0 0 * * *', incrementalCron: '*/20 * * * * *' }, new Date('2026-03-28T23:59:50Z'), 3);
    expect(iso(secs)).toEqual(['2026-03-29T00:00:00.000Z full', '2026-03-29T00:01:00.000Z incremental', '2026-03-29T00:01:20.000Z incremental']);
  });

  it('with only an incremental schedule and no full yet, the first run is a full', () => {
    const task = { incrementalCron: '0 * * * *', timeZone: 'Europe/Oslo' };
    const after = new Date('2026-03-28T10:15:00Z');
    expect(iso(nextRuns({ ...task, hasFullYet: false }, after, 3))).toEqual([
      '2026-03-28T11:00:00.000Z full',
      '2026-03-28T12:00:00.000Z incremental',
      '2026-03-28T13:00:00.000Z incremental',
    ]);
    expect(nextRuns({ ...task, hasFullYet: true }, after, 1)[0].kind).toBe('incremental');
    expect(nextRuns(task, after, 1)[0].kind).toBe('incremental');
  });

  it('skips runs before delayedUntil; a run exactly at delayedUntil counts', () => {
    const task = { fullCron: '0 0 * * *', incrementalCron: '0 * * * *' };
    const after = new Date('2026-03-28T10:15:00Z');
    expect(iso(nextRuns({ ...task, delayedUntil: new Date('2026-03-28T22:30:00Z') }, after, 3))).toEqual([
      '2026-03-28T23:00:00.000Z incremental',
      '2026-03-29T00:00:00.000Z full',
      '2026-03-29T01:00:00.000Z incremental',
    ]);
    expect(iso(nextRuns({ ...task, delayedUntil: new Date('2026-03-28T23:00:00Z') }, after, 1))).toEqual(['2026-03-28T23:00:00.000Z incremental']);
    // A delay already past changes nothing.
    expect(iso(nextRuns({ ...task, delayedUntil: new Date('2026-03-01T00:00:00Z') }, after, 1))).toEqual(['2026-03-28T11:00:00.000Z incremental']);
    // The first run after a delay is still a full when none exists yet.
    expect(iso(nextRuns({ incrementalCron: '0 * * * *', hasFullYet: false, delayedUntil: new Date('2026-03-28T20:00:00Z') }, after, 2))).toEqual([
      '2026-03-28T20:00:00.000Z full',
      '2026-03-28T21:00:00.000Z incremental',
    ]);
  });

  it('returns nothing for count 0 or a task without schedules', () => {
    expect(nextRuns({ fullCron: '0 * * * *' }, new Date(), 0)).toEqual([]);
    expect(nextRuns({}, new Date(), 5)).toEqual([]);
  });

  it('over a simulated week matches the expected count of runs', () => {
    // Full Sunday 03:00 Oslo, incremental hourly: 168 hourly slots, one of them the full.
    const runs = nextRuns({ fullCron: '0 3 * * 0', incrementalCron: '0 * * * *', timeZone: 'Europe/Oslo' }, new Date('2026-04-05T00:30:00Z'), 168);
    expect(runs.filter((r) => r.kind === 'full').map((r) => r.at.toISOString())).toEqual(['2026-04-05T01:00:00.000Z']);
    for (let i = 1; i < runs.length; i++) expect(runs[i].at.getTime()).toBeGreaterThan(runs[i - 1].at.getTime());
  });

  it('rejects bad arguments with InvalidArgumentError', () => {
    expect(thrown(() => nextRuns({ fullCron: '0 * * * *' }, new Date('x'), 1))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => nextRuns({ fullCron: '0 * * * *' }, new Date(), -1))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => nextRuns({ fullCron: '0 * * * *' }, new Date(), 1.5))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => nextRuns({ fullCron: '0 * * * *', delayedUntil: new Date('x') }, new Date(), 1))).toBeInstanceOf(InvalidArgumentError);
    const e = thrown(() => nextRuns({ fullCron: '0 * * * *', incrementalCron: 'every hour' }, new Date(), 1));
    expect(e.message).toMatch(/^invalid incremental cron expression "every hour"/);
    expect(thrown(() => nextRuns({ fullCron: '0 * * * *', timeZone: 'Mars/Olympus' }, new Date(), 1)).message).toMatch(/unknown time zone "Mars\/Olympus"/);
  });
});

describe('validateCron', () => {
  it('accepts 5- and 6-field expressions in known zones', () => {
    expect(() => validateCron('0 2 * * 0')).not.toThrow();
    expect(() => validateCron('*/30 * * * * *', 'Europe/Oslo')).not.toThrow();
    expect(() => validateTimeZone('America/New_York')).not.toThrow();
  });

  it.each([
    ['not a cron', /invalid cron expression "not a cron": invalid configuration format/],
    ['61 * * * *', /invalid cron expression "61 \* \* \* \*": Invalid value for minute: 61/],
    ['* * * *', /exactly five, six, or seven/],
    ['', /invalid cron expression "": expected 5 fields/],
  ])('rejects %j', (expr, message) => {
    const err = thrown(() => validateCron(expr, 'UTC'));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(err.message).toMatch(message);
  });

  it.each(['Mars/Olympus', '', 'Europe/Osloo'])('rejects time zone %j', (tz) => {
    const err = thrown(() => validateCron('0 * * * *', tz));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/time zone/);
  });
});
