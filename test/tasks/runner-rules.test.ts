/**
 * TaskRunner rules, with a test-double Executors (HeldExecutors: each backup or restore
 * waits until the test settles it) and a FakeClock: one backup per database at a time,
 * queueing and coalescing, cancel, delay, disabled tasks, status and errors, the next
 * backup estimate, restores one at a time, one-time backups, retention after scheduled
 * runs only, and missed instants folding into one run. The work itself is not what these
 * tests are about (schedule-simulation and interplay tests run the real executors).
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/tasks/clock.js';
import { TaskRunner } from '../../src/tasks/runner.js';
import type { TaskInput } from '../../src/tasks/task.js';
import { ErrorCodes, IoError } from '../../src/errors.js';
import { DAY, HeldExecutors, drive, flush } from './support.js';

/** Monday 2026-01-05 00:30 UTC. */
const MONDAY = new Date('2026-01-05T00:30:00.000Z');
/** Saturday 2026-01-10 22:30 UTC: the weekly full ('0 2 * * 0') is at 2026-01-11T02:00Z. */
const SATURDAY = new Date('2026-01-10T22:30:00.000Z');

function setup(ex: HeldExecutors, start = MONDAY): { runner: TaskRunner; clock: FakeClock } {
  const clock = new FakeClock(start);
  const runner = new TaskRunner({ clock, executors: ex, context: () => ({ databases: ['db1', 'db2'], schemes: ['file'] }) });
  return { runner, clock };
}

const hourly = (name: string, database = 'db1', extra: TaskInput = {}): TaskInput => ({ name, database, incrementalCron: '0 * * * *', destinations: [`/backups/${name}`], ...extra });
/** A task that is never due in these tests (January 1st only). */
const yearly = (name: string, database = 'db1'): TaskInput => ({ name, database, fullCron: '0 0 1 1 *', destinations: [`/backups/${name}`] });
const at = (iso: string): Date => new Date(iso);

describe('TaskRunner: one backup per database', () => {
  it('queues a second backup of the same database behind the running one and runs it after', async () => {
    const ex = new HeldExecutors();
    const { runner } = setup(ex);
    const a = await runner.createTask(yearly('a'));
    const b = await runner.createTask(yearly('b'));

    const opA = runner.backupNow(a.id, 'full');
    expect(opA.status).toBe('running');
    const opB = runner.backupNow(b.id, 'incremental');
    expect(opB).toMatchObject({ status: 'queued', queuedBehind: opA.id, isRunning: false });
    const opM = runner.oneTime({ database: 'db1', destinations: ['/manual'] });
    expect(opM).toMatchObject({ status: 'queued', queuedBehind: opB.id });
    expect(ex.backups).toHaveLength(1);
    expect(runner.taskStatus(b.id).queued.map((o) => o.id)).toEqual([opB.id]);

    ex.backups[0].succeed();
    await flush();
    expect(runner.operation(opA.id).status).toBe('succeeded');
    expect(runner.operation(opB.id).status).toBe('running');
    expect(ex.backups).toHaveLength(2);
    expect(ex.backups[1].job).toMatchObject({ database: 'db1', kind: 'incremental', destinations: ['/backups/b'], manual: false });

    ex.backups[1].succeed();
    await flush();
    expect(runner.operation(opM.id).status).toBe('running');
    ex.backups[2].succeed();
    await runner.idle();
    expect([opA, opB, opM].map((o) => runner.operation(o.id).status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // Each started only after the one before it ended.
    const ops = [opA, opB, opM].map((o) => runner.operation(o.id));
    expect(ex.backups).toHaveLength(3);
    for (let i = 1; i < ops.length; i++) expect(Date.parse(ops[i].startedAt!)).toBeGreaterThanOrEqual(Date.parse(ops[i - 1].endedAt!));
  });

  it('runs backups of different databases at the same time', async () => {
    const ex = new HeldExecutors();
    const { runner } = setup(ex);
    const a = await runner.createTask(yearly('a', 'db1'));
    const b = await runner.createTask(yearly('b', 'db2'));
    const opA = runner.backupNow(a.id, 'full');
    const opB = runner.backupNow(b.id, 'full');
    expect(opA.status).toBe('running');
    expect(opB.status).toBe('running');
    expect(opB.queuedBehind).toBeUndefined();
    expect(ex.backups.map((x) => x.job.database)).toEqual(['db1', 'db2']);
    expect(runner.taskStatus(a.id).status).toBe('running');
    expect(runner.taskStatus(b.id).running?.id).toBe(opB.id);
    // The second finishes first: no ordering between databases.
    ex.backups[1].succeed();
    await flush();
    expect(runner.operation(opB.id).status).toBe('succeeded');
    expect(runner.operation(opA.id).status).toBe('running');
    ex.backups[0].succeed();
    await runner.idle();
    expect(runner.operation(opA.id).status).toBe('succeeded');
  });
});

describe('TaskRunner: coalescing due runs', () => {
  it('folds a due run of a queued task and kind into the queued one, and a due full replaces a queued incremental', async () => {
    const ex = new HeldExecutors();
    const { runner, clock } = setup(ex, SATURDAY);
    const task = await runner.createTask({ ...hourly('weekly'), fullCron: '0 2 * * 0', retention: { minimumAgeMs: DAY } });
    const blocker = await runner.createTask(yearly('blocker'));
    runner.start();

    // The task's first full, so its hourly runs are incrementals.
    runner.backupNow(task.id, 'full');
    ex.backups[0].succeed();
    await flush();
    expect(runner.taskStatus(task.id).lastFull).toBeDefined();

    const blocking = runner.backupNow(blocker.id, 'full');
    expect(blocking.status).toBe('running');

    const opsOf = (): ReturnType<TaskRunner['operations']> => runner.operations({ taskId: task.id }).filter((o) => o.trigger === 'schedule');
    clock.advanceTo(runner.nextWakeup()!); // 23:00
    expect(clock.now().toISOString()).toBe('2026-01-10T23:00:00.000Z');
    expect(opsOf()).toHaveLength(1);
    const queued = opsOf()[0];
    expect(queued).toMatchObject({ status: 'queued', kind: 'incremental', coalesced: 0, queuedBehind: blocking.id });

    clock.advanceTo(at('2026-01-11T00:00:00Z'));
    clock.advanceTo(at('2026-01-11T01:00:00Z'));
    expect(opsOf()).toHaveLength(1);
    expect(runner.operation(queued.id)).toMatchObject({ status: 'queued', kind: 'incremental', coalesced: 2 });

    // Sunday 02:00: the weekly full is due; it replaces the queued incremental.
    clock.advanceTo(at('2026-01-11T02:00:00Z'));
    expect(opsOf()).toHaveLength(1);
    expect(runner.operation(queued.id)).toMatchObject({ status: 'queued', kind: 'full', coalesced: 3 });
    // A later incremental (scheduled or asked for) is covered by the queued full.
    clock.advanceTo(at('2026-01-11T03:00:00Z'));
    expect(runner.backupNow(task.id, 'incremental').id).toBe(queued.id);
    expect(runner.operation(queued.id)).toMatchObject({ kind: 'full', coalesced: 5 });
    expect(runner.taskStatus(task.id).queued).toHaveLength(1);

    expect(ex.backups).toHaveLength(2);
    ex.backups[1].succeed();
    await flush();
    expect(ex.backups).toHaveLength(3);
    expect(ex.backups[2].job).toMatchObject({ kind: 'full', destinations: ['/backups/weekly'] });
    ex.backups[2].succeed();
    await flush();
    expect(runner.operation(queued.id).status).toBe('succeeded');
    // Retention ran once, after the scheduled run, at its end.
    expect(ex.retentions.map((r) => [r.task.id, r.now.toISOString()])).toEqual([[task.id, '2026-01-11T03:00:00.000Z']]);

    // Nothing queued any more: the next incremental runs at once.
    clock.advanceTo(at('2026-01-11T04:00:00Z'));
    const next = opsOf()[0];
    expect(next).toMatchObject({ status: 'running', kind: 'incremental', coalesced: 0 });
    expect(next.queuedBehind).toBeUndefined();
    ex.backups[3].succeed();
    await runner.idle();
    await runner.stop();
  });

  it('folds missed instants into one run: a full if a full was missed, else one incremental', async () => {
    const ex = new HeldExecutors({ auto: true });
    const { runner, clock } = setup(ex, SATURDAY);
    const task = await runner.createTask({ ...hourly('weekly'), fullCron: '0 2 * * 0' });
    runner.backupNow(task.id, 'full');
    await runner.idle();

    // Not started: nothing runs while the clock moves (a server that was down).
    clock.advanceTo(at('2026-01-11T01:30:00Z'));
    expect(ex.backups).toHaveLength(1);
    runner.tick();
    await runner.idle();
    expect(ex.backups.map((b) => b.job.kind)).toEqual(['full', 'incremental']);

    clock.advanceTo(at('2026-01-11T05:30:00Z')); // 02:00 (full) to 05:00 missed
    runner.tick();
    await runner.idle();
    expect(ex.backups.map((b) => b.job.kind)).toEqual(['full', 'incremental', 'full']);
    runner.tick();
    await runner.idle();
    expect(ex.backups).toHaveLength(3);
  });

  it("runs an incremental-only task's first full once: a run that falls due while it runs extends its chain", async () => {
    const ex = new HeldExecutors();
    const { runner, clock } = setup(ex);
    const task = await runner.createTask(hourly('incr'));
    runner.start();
    clock.advanceTo(runner.nextWakeup()!); // 01:00: the first run is a full
    expect(ex.backups.map((b) => b.job.kind)).toEqual(['full']);
    // The first full is slow: two more hourly instants pass while it runs.
    clock.advanceTo(at('2026-01-05T02:00:00Z'));
    clock.advanceTo(at('2026-01-05T03:00:00Z'));
    const queued = runner.taskStatus(task.id).queued;
    expect(queued).toHaveLength(1);
    expect(queued[0].coalesced).toBe(1);
    ex.backups[0].succeed('full-snapshot');
    await flush();
    // The full now exists: what runs next is an incremental of its chain, not a second full.
    expect(ex.backups.map((b) => b.job.kind)).toEqual(['full', 'incremental']);
    expect(runner.operation(queued[0].id).kind).toBe('incremental');
    ex.backups[1].succeed('incremental-snapshot');
    await runner.idle();
    await runner.stop();
  });

  it('keeps a queued full that was asked for while the first full ran', async () => {
    const ex = new HeldExecutors();
    const { runner, clock } = setup(ex);
    const task = await runner.createTask(hourly('incr'));
    runner.start();
    clock.advanceTo(runner.nextWakeup()!);
    clock.advanceTo(at('2026-01-05T02:00:00Z'));
    const queued = runner.backupNow(task.id, 'full');
    expect(queued.coalesced).toBe(1);
    ex.backups[0].succeed('full-snapshot');
    await flush();
    expect(ex.backups.map((b) => b.job.kind)).toEqual(['full', 'full']);
    ex.backups[1].succeed('full-snapshot');
    await runner.idle();
    await runner.stop();
  });

  it('keeps the queued first full when the running first full fails', async () => {
    const ex = new HeldExecutors();
    const { runner, clock } = setup(ex);
    await runner.createTask(hourly('incr'));
    runner.start();
    clock.advanceTo(runner.nextWakeup()!);
    clock.advanceTo(at('2026-01-05T02:00:00Z'));
    ex.backups[0].fail(new IoError('disk full'));
    await flush();
    expect(ex.backups.map((b) => b.job.kind)).toEqual(['full', 'full']);
    ex.backups[1].succeed('full-snapshot');
    await runner.idle();
    await runner.stop();
  });
});

describe('TaskRunner: cancel', () => {
  it('cancels a queued backup: it is recorded as cancelled and never runs', async () => {
    const ex = new HeldExecutors();
    const { runner } = setup(ex);
    const a = await runner.createTask(yearly('a'));
    const b = await runner.createTask(yearly('b'));
    const running = runner.backupNow(a.id, 'full');
    const queued = runner.backupNow(b.id, 'full');
    const cancelled = runner.cancel(queued.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', isRunning: false, error: { code: ErrorCodes.ABORTED } });
    expect(cancelled.endedAt).toBeDefined();
    expect(runner.taskStatus(b.id).queued).toEqual([]);
    // A cancel is not a failure.
    expect(runner.taskStatus(b.id).status).toBe('active');

    ex.backups[0].succeed();
    await runner.idle();
    expect(runner.operation(running.id).status).toBe('succeeded');
    expect(ex.backups).toHaveLength(1);
    expect(runner.operation(queued.id).status).toBe('cancelled');
    // Cancelling a finished operation changes nothing.
    expect(runner.cancel(running.id).status).toBe('succeeded');
  });

  it('cancels a running backup through its signal and frees the database', async () => {
    const ex = new HeldExecutors();
    const { runner } = setup(ex);
    const a = await runner.createTask(yearly('a'));
    const op = runner.backupNow(a.id, 'full');
    expect(ex.backups[0].ctx.signal.aborted).toBe(false);
    runner.cancel(op.id);
    expect(ex.backups[0].ctx.signal.aborted).toBe(true);
    await runner.idle();
    expect(runner.operation(op.id)).toMatchObject({ status: 'cancelled', isRunning: false, error: { code: ErrorCodes.ABORTED } });
    expect(runner.taskStatus(a.id).status).toBe('active');
    expect(runner.taskStatus(a.id).lastError).toBeUndefined();
    // The database is free again.
    expect(runner.backupNow(a.id, 'full').status).toBe('running');
    ex.backups[1].succeed();
    await runner.idle();
  });
});

describe('TaskRunner: delay, disable, status', () => {
  it('skips scheduled runs until the delay ends; backup now still runs meanwhile', async () => {
    const ex = new HeldExecutors({ auto: true });
    const { runner, clock } = setup(ex);
    const task = await runner.createTask(hourly('incr'));
    runner.start();
    const status = runner.delay(task.id, at('2026-01-05T05:00:00Z'));
    expect(status.delayedUntil).toBe('2026-01-05T05:00:00.000Z');
    expect(status.nextBackup).toEqual({ at: '2026-01-05T05:00:00.000Z', kind: 'full' });
    expect(runner.nextWakeup()?.toISOString()).toBe('2026-01-05T05:00:00.000Z');

    clock.advanceTo(at('2026-01-05T02:30:00Z'));
    expect(ex.backups).toHaveLength(0);
    const now = runner.backupNow(task.id, 'incremental');
    await runner.idle();
    expect(runner.operation(now.id)).toMatchObject({ status: 'succeeded', trigger: 'backup-now' });

    await drive(runner, clock, at('2026-01-05T08:30:00Z'));
    const scheduled = runner.operations({ taskId: task.id }).filter((o) => o.trigger === 'schedule').reverse();
    expect(scheduled.map((o) => `${o.queuedAt} ${o.kind}`)).toEqual([
      '2026-01-05T05:00:00.000Z full',
      '2026-01-05T06:00:00.000Z incremental',
      '2026-01-05T07:00:00.000Z incremental',
      '2026-01-05T08:00:00.000Z incremental',
    ]);

    // Delaying again, then cancelling the delay, restores the schedule.
    runner.delay(task.id, at('2026-01-06T00:00:00Z'));
    expect(runner.taskStatus(task.id).nextBackup?.at).toBe('2026-01-06T00:00:00.000Z');
    expect(runner.delay(task.id, null).delayedUntil).toBeUndefined();
    expect(runner.taskStatus(task.id).nextBackup?.at).toBe('2026-01-05T09:00:00.000Z');
    expect(() => runner.delay(task.id, new Date('nope'))).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    await runner.stop();
  });

  it('never schedules a disabled task; re-enabling starts from now without making up missed runs', async () => {
    const ex = new HeldExecutors({ auto: true });
    const { runner, clock } = setup(ex);
    const task = await runner.createTask(hourly('off', 'db1', { enabled: false }));
    runner.start();
    expect(runner.taskStatus(task.id).status).toBe('disabled');
    expect(runner.taskStatus(task.id).nextBackup).toBeUndefined();
    expect(runner.nextWakeup()).toBeUndefined();
    clock.advanceTo(at('2026-01-05T05:30:00Z'));
    runner.tick();
    await runner.idle();
    expect(ex.backups).toHaveLength(0);

    await runner.setEnabled(task.id, true);
    expect(runner.taskStatus(task.id)).toMatchObject({ status: 'active', nextBackup: { at: '2026-01-05T06:00:00.000Z', kind: 'full' } });
    runner.tick();
    await runner.idle();
    expect(ex.backups).toHaveLength(0);
    await drive(runner, clock, at('2026-01-05T06:30:00Z'));
    expect(runner.operations({ taskId: task.id }).map((o) => o.queuedAt)).toEqual(['2026-01-05T06:00:00.000Z']);

    await runner.setEnabled(task.id, false);
    await drive(runner, clock, at('2026-01-05T12:00:00Z'));
    expect(runner.operations({ taskId: task.id })).toHaveLength(1);
    await runner.stop();
  });

  it("shows 'error' with the failure after a failed run, and clears it after the next success", async () => {
    const ex = new HeldExecutors();
    const { runner, clock } = setup(ex);
    const task = await runner.createTask(hourly('t'));
    expect(runner.taskStatus(task.id).status).toBe('active');
    const failed = runner.backupNow(task.id, 'full');
    expect(runner.taskStatus(task.id).status).toBe('running');
    ex.backups[0].fail(new IoError('no space left on device'));
    await runner.idle();
    const st = runner.taskStatus(task.id);
    expect(st.status).toBe('error');
    expect(st.lastError).toMatchObject({ operationId: failed.id, code: ErrorCodes.IO, at: clock.now().toISOString() });
    expect(st.lastError?.message).toContain('no space left');
    expect(runner.operation(failed.id)).toMatchObject({ status: 'failed', error: { code: ErrorCodes.IO } });
    expect(st.lastFull).toBeUndefined();

    // A thrown non-pagevault error is recorded as internal.
    runner.backupNow(task.id, 'full');
    ex.backups[1].fail(new TypeError('bug'));
    await runner.idle();
    expect(runner.taskStatus(task.id).lastError?.code).toBe('PAGEVAULT_ERR_INTERNAL');

    clock.advanceTo(at('2026-01-05T00:40:00Z'));
    const ok = runner.backupNow(task.id, 'full');
    ex.backups[2].succeed('full-snapshot');
    await runner.idle();
    const after = runner.taskStatus(task.id);
    expect(after.status).toBe('active');
    expect(after.lastError).toBeUndefined();
    expect(after.lastFull).toMatchObject({ operationId: ok.id, fileKind: 'full-snapshot', at: '2026-01-05T00:40:00.000Z', file: 'file-2' });
    expect(after.lastIncremental).toBeUndefined();
  });

  it('estimates the next backup from the schedule, in the task time zone', async () => {
    const ex = new HeldExecutors({ auto: true });
    const { runner, clock } = setup(ex, SATURDAY);
    const utc = await runner.createTask({ ...hourly('utc'), fullCron: '0 2 * * 0' });
    const oslo = await runner.createTask({ ...hourly('oslo', 'db2'), fullCron: '0 2 * * 0', timeZone: 'Europe/Oslo' });
    // No full yet: the next run is a full, whichever schedule fires it.
    expect(runner.taskStatus(utc.id).nextBackup).toEqual({ at: '2026-01-10T23:00:00.000Z', kind: 'full' });
    runner.backupNow(utc.id, 'full');
    runner.backupNow(oslo.id, 'full');
    await runner.idle();
    expect(runner.taskStatus(utc.id).nextBackup).toEqual({ at: '2026-01-10T23:00:00.000Z', kind: 'incremental' });
    clock.advanceTo(at('2026-01-11T00:30:00Z'));
    // 02:00 in Oslo (CET, UTC+1) is 01:00Z.
    expect(runner.taskStatus(oslo.id).nextBackup).toEqual({ at: '2026-01-11T01:00:00.000Z', kind: 'full' });
    expect(runner.taskStatus(utc.id).nextBackup).toEqual({ at: '2026-01-11T01:00:00.000Z', kind: 'incremental' });
    clock.advanceTo(at('2026-01-11T01:30:00Z'));
    expect(runner.taskStatus(utc.id).nextBackup).toEqual({ at: '2026-01-11T02:00:00.000Z', kind: 'full' });
    expect(runner.taskStatus(oslo.id).nextBackup).toEqual({ at: '2026-01-11T02:00:00.000Z', kind: 'incremental' });
    expect(runner.nextWakeup()?.toISOString()).toBe('2026-01-11T02:00:00.000Z');
  });
});

describe('TaskRunner: restores', () => {
  it('runs restores one at a time; a second one fails with RESTORE_BUSY after its start timeout', async () => {
    const ex = new HeldExecutors();
    const { runner, clock } = setup(ex);
    const first = runner.restore({ source: '/backups/a/chain', database: 'r1' });
    expect(first.status).toBe('running');
    const second = runner.restore({ source: '/backups/a/chain', database: 'r2' }, 60_000);
    expect(second).toMatchObject({ status: 'queued', queuedBehind: first.id });
    expect(ex.restores).toHaveLength(1);

    clock.advanceTo(new Date(MONDAY.getTime() + 59_999));
    expect(runner.operation(second.id).status).toBe('queued');
    clock.advanceTo(new Date(MONDAY.getTime() + 60_000));
    expect(runner.operation(second.id)).toMatchObject({ status: 'failed', isRunning: false, error: { code: ErrorCodes.RESTORE_BUSY } });
    expect(runner.operation(second.id).error?.message).toContain(first.id);

    ex.restores[0].gate.resolve({ database: 'r1', path: '/db/r1', files: 3 });
    await runner.idle();
    expect(runner.operation(first.id)).toMatchObject({ status: 'succeeded', result: { database: 'r1', files: 3 } });
    // The timed-out restore never ran.
    expect(ex.restores.map((r) => r.job.database)).toEqual(['r1']);
  });

  it('starts a waiting restore when the one before it ends within the timeout, and cancels queued ones', async () => {
    const ex = new HeldExecutors();
    const { runner, clock } = setup(ex);
    const first = runner.restore({ source: '/b/c', database: 'r1' });
    const second = runner.restore({ source: '/b/c', database: 'r2' }, 60_000);
    const third = runner.restore({ source: '/b/c', database: 'r3' }, 60_000);
    expect(runner.cancel(third.id).status).toBe('cancelled');

    clock.advanceTo(new Date(MONDAY.getTime() + 30_000));
    ex.restores[0].gate.reject(new IoError('read failed'));
    await flush();
    expect(runner.operation(first.id).status).toBe('failed');
    expect(runner.operation(second.id).status).toBe('running');
    // Its start timeout no longer applies.
    clock.advanceTo(new Date(MONDAY.getTime() + 120_000));
    expect(runner.operation(second.id).status).toBe('running');
    ex.restores[1].gate.resolve({ database: 'r2', path: '/db/r2', files: 1 });
    await runner.idle();
    expect(runner.operation(second.id).status).toBe('succeeded');
    expect(ex.restores.map((r) => r.job.database)).toEqual(['r1', 'r2']);
    expect(runner.operation(third.id).status).toBe('cancelled');
  });

  it('cancels a running restore through its signal', async () => {
    const ex = new HeldExecutors();
    const { runner } = setup(ex);
    const op = runner.restore({ source: '/b/c', database: 'r1' });
    runner.cancel(op.id);
    expect(ex.restores[0].ctx.signal.aborted).toBe(true);
    await runner.idle();
    expect(runner.operation(op.id).status).toBe('cancelled');
  });
});

describe('TaskRunner: one-time backups and retention', () => {
  it('marks one-time backups manual, outside any task, and never runs retention for them', async () => {
    const ex = new HeldExecutors({ auto: true });
    const { runner } = setup(ex);
    const task = await runner.createTask({ ...hourly('t'), retention: { minimumAgeMs: DAY } });
    const one = runner.oneTime({ database: 'db1', destinations: ['/manual'] });
    const incr = runner.oneTime({ database: 'db1', destinations: ['/manual'], type: 'backup', incremental: true, compression: 'gzip' });
    runner.backupNow(task.id, 'full');
    await runner.idle();
    expect(ex.backups.map((b) => b.job)).toEqual([
      { database: 'db1', type: 'snapshot', kind: 'full', destinations: ['/manual'], encryption: { mode: 'none' }, manual: true },
      { database: 'db1', type: 'backup', kind: 'incremental', destinations: ['/manual'], encryption: { mode: 'none' }, compression: 'gzip', manual: true },
      { database: 'db1', type: 'snapshot', kind: 'full', destinations: ['/backups/t'], encryption: { mode: 'none' }, manual: false },
    ]);
    expect(runner.operation(one.id)).toMatchObject({ trigger: 'one-time', status: 'succeeded', database: 'db1' });
    expect(runner.operation(one.id).taskId).toBeUndefined();
    expect(runner.operation(incr.id).kind).toBe('incremental');
    // Backup now is not a scheduled run: no retention either.
    expect(ex.retentions).toEqual([]);
    expect(() => runner.oneTime({ database: 'db1', destinations: [] })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => runner.oneTime({ database: 'db1', destinations: ['/m'], type: 'pages' as never })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });

  it('runs retention after each successful scheduled run when enabled; a retention failure is recorded, the backup stands', async () => {
    const ex = new HeldExecutors({ auto: true });
    const { runner, clock } = setup(ex);
    const kept = await runner.createTask({ ...hourly('keep', 'db1'), retention: { minimumAgeMs: DAY } });
    const off = await runner.createTask(hourly('off', 'db2'));
    runner.start();
    await drive(runner, clock, at('2026-01-05T02:30:00Z'));
    expect(ex.retentions.map((r) => `${r.task.name} ${r.now.toISOString()}`)).toEqual(['keep 2026-01-05T01:00:00.000Z', 'keep 2026-01-05T02:00:00.000Z']);
    expect(runner.operations({ taskId: off.id })).toHaveLength(2);

    ex.retentionFailure = new IoError('cannot list the destination');
    await drive(runner, clock, at('2026-01-05T03:30:00Z'));
    const [last] = runner.operations({ taskId: kept.id, limit: 1 });
    expect(last.status).toBe('succeeded');
    expect(last.result).toMatchObject({ retention: { removed: [], errors: ['cannot list the destination'] } });
    expect(runner.taskStatus(kept.id).status).toBe('active');
    await runner.stop();
  });

  it('cancels queued runs of a deleted task and of a stopping runner', async () => {
    const ex = new HeldExecutors();
    const { runner } = setup(ex);
    const a = await runner.createTask(yearly('a'));
    const b = await runner.createTask(yearly('b'));
    const running = runner.backupNow(a.id, 'full');
    const queued = runner.backupNow(b.id, 'full');
    runner.deleteTask(b.id);
    expect(runner.operation(queued.id).status).toBe('cancelled');
    expect(() => runner.getTask(b.id)).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_FOUND }));

    const again = runner.backupNow(a.id, 'incremental');
    expect(again.status).toBe('queued');
    await runner.stop();
    expect(runner.operation(again.id).status).toBe('cancelled');
    expect(runner.operation(running.id).status).toBe('cancelled');
    expect(ex.backups).toHaveLength(1);
    expect(() => runner.backupNow(a.id, 'full')).toThrow(expect.objectContaining({ code: ErrorCodes.ABORTED }));
  });
});
