/**
 * Persistence of the task runner: the state file (tasks, run state, history) is written
 * atomically and read back by a new runner; operations a dead process left queued or
 * running are recorded as failed with PAGEVAULT_ERR_INTERRUPTED (and set the task's last
 * error); a damaged state file is refused with PAGEVAULT_ERR_IO, never silently emptied.
 * Real files in a per-test folder; executors are test doubles (persistence is the runner's).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/tasks/clock.js';
import { TaskRunner } from '../../src/tasks/runner.js';
import { HISTORY_LIMIT, loadState, type PersistedState } from '../../src/tasks/state.js';
import { ErrorCodes, IoError } from '../../src/errors.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { HeldExecutors, drive } from './support.js';

const tmp = useTmpEnv();
const START = new Date('2026-01-05T00:30:00.000Z');

function runnerOn(stateFile: string, clock: FakeClock, ex = new HeldExecutors({ auto: true })): TaskRunner {
  return new TaskRunner({ clock, executors: ex, stateFile, context: () => ({ databases: ['db1'], schemes: ['file'] }) });
}

describe('state file', () => {
  it('is written on every change, mode 0600, by replacing the whole file (no temporary left behind)', async () => {
    const dir = join(tmp.dir, '.pagevault');
    const file = join(dir, 'state.json');
    mkdirSync(dir);
    // A temporary file a crash left mid-write is never read, and is replaced by the next save.
    writeFileSync(`${file}.tmp`, '{"version":1,"tasks":[{"tor', { mode: 0o600 });
    const clock = new FakeClock(START);
    const runner = runnerOn(file, clock);
    const task = await runner.createTask({ name: 'hourly', database: 'db1', incrementalCron: '0 * * * *', destinations: ['/b'] });
    expect(readdirSync(dir)).toEqual(['state.json']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as PersistedState;
    expect(saved).toMatchObject({ version: 1, tasks: [{ id: task.id, name: 'hourly' }], operations: [] });
    expect(saved.taskState[task.id]).toEqual({ lastCheck: START.toISOString(), hasFullYet: false });

    runner.start();
    await drive(runner, clock, new Date('2026-01-05T02:30:00Z'));
    const after = loadState(file);
    expect(after.operations.map((o) => `${o.status} ${o.kind} ${o.queuedAt}`)).toEqual([
      'succeeded full 2026-01-05T01:00:00.000Z',
      'succeeded incremental 2026-01-05T02:00:00.000Z',
    ]);
    expect(after.taskState[task.id]).toMatchObject({ lastCheck: '2026-01-05T02:00:00.000Z', hasFullYet: true, lastFull: { fileKind: 'full-snapshot' }, lastIncremental: { fileKind: 'incremental-snapshot' } });
    expect(readdirSync(dir)).toEqual(['state.json']);
    await runner.stop();
  });

  it('keeps the previous file whole when a save cannot complete', async () => {
    const dir = join(tmp.dir, 'state');
    const file = join(dir, 'state.json');
    const clock = new FakeClock(START);
    const runner = runnerOn(file, clock);
    await runner.createTask({ name: 'first', database: 'db1', incrementalCron: '0 * * * *', destinations: ['/b'] });
    const before = readFileSync(file, 'utf8');
    // The temporary file cannot be created (a folder is in the way): the save fails before the rename.
    mkdirSync(`${file}.tmp`);
    await expect(runner.createTask({ name: 'second', database: 'db1', incrementalCron: '0 * * * *', destinations: ['/c'] })).rejects.toMatchObject({ code: ErrorCodes.IO });
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(loadState(file).tasks.map((t) => t.name)).toEqual(['first']);
    // The refused change is not kept in memory either (a restart would have lost it).
    expect(runner.listTasks().map((t) => t.name)).toEqual(['first']);
    await expect(runner.updateTask('first', { destinations: ['/d'] })).rejects.toMatchObject({ code: ErrorCodes.IO });
    expect(runner.getTask('first').destinations).toEqual(['/b']);
    expect(() => runner.delay('first', new Date('2026-02-01T00:00:00Z'))).toThrow(IoError);
    expect(runner.taskStatus('first').delayedUntil).toBeUndefined();

    // A run's own status change that cannot be written does not crash the timer: it is reported, kept in memory, and written later.
    const errors: unknown[] = [];
    const clock2 = new FakeClock(START);
    const file2 = join(dir, 'state2.json');
    const r2 = new TaskRunner({ clock: clock2, executors: new HeldExecutors({ auto: true }), stateFile: file2, context: () => ({ databases: ['db1'], schemes: ['file'] }), onSaveError: (e) => errors.push(e) });
    await r2.createTask({ name: 'hourly', database: 'db1', incrementalCron: '0 * * * *', destinations: ['/b'] });
    r2.start();
    mkdirSync(`${file2}.tmp`);
    await drive(r2, clock2, new Date('2026-01-05T01:30:00Z'));
    expect(errors.length).toBeGreaterThan(0);
    expect(r2.operations()[0]).toMatchObject({ status: 'succeeded' });
    rmSync(`${file2}.tmp`, { recursive: true });
    await r2.delay('hourly', null);
    expect(loadState(file2).operations.map((o) => o.status)).toEqual(['succeeded']);
    await r2.stop();
  });

  it('is read back by a new runner: tasks, run state and history; missed runs fold into one catch-up run', async () => {
    const file = join(tmp.dir, 'state.json');
    const clock = new FakeClock(START);
    const first = runnerOn(file, clock);
    const task = await first.createTask({ name: 'weekly', database: 'db1', fullCron: '0 2 * * 0', incrementalCron: '0 * * * *', destinations: ['/b'], retention: { minimumAgeMs: 86_400_000 } });
    first.start();
    await drive(first, clock, new Date('2026-01-05T03:30:00Z'));
    await first.stop();
    const status = first.taskStatus(task.id);

    // The process is down for five hours.
    clock.advanceTo(new Date('2026-01-05T08:30:00Z'));
    const ex = new HeldExecutors({ auto: true });
    const second = runnerOn(file, clock, ex);
    expect(second.listTasks()).toEqual(first.listTasks());
    const restored = second.taskStatus(task.id);
    expect(restored.lastFull).toEqual(status.lastFull);
    expect(restored.lastIncremental).toEqual(status.lastIncremental);
    expect(second.operations().map((o) => o.id)).toEqual(first.operations().map((o) => o.id));
    expect(restored.nextBackup).toEqual({ at: '2026-01-05T09:00:00.000Z', kind: 'incremental' });

    second.start();
    await second.idle();
    expect(ex.backups.map((b) => b.job.kind)).toEqual(['incremental']);
    expect(second.operations({ limit: 1 })[0]).toMatchObject({ trigger: 'schedule', queuedAt: '2026-01-05T08:30:00.000Z', status: 'succeeded' });
    await second.stop();
  });
});

describe('interrupted operations', () => {
  it('a new runner records what was running or queued as failed with PAGEVAULT_ERR_INTERRUPTED and sets the task error', async () => {
    const file = join(tmp.dir, 'state.json');
    const clock = new FakeClock(START);
    const held = new HeldExecutors();
    const dead = runnerOn(file, clock, held);
    const a = await dead.createTask({ name: 'a', database: 'db1', incrementalCron: '0 * * * *', destinations: ['/a'] });
    const b = await dead.createTask({ name: 'b', database: 'db1', incrementalCron: '0 * * * *', destinations: ['/b'] });
    const done = dead.backupNow(b.id, 'full');
    held.backups[0].succeed('full-snapshot');
    await dead.idle();
    const running = dead.backupNow(a.id, 'full');
    const queued = dead.backupNow(b.id, 'incremental');
    const manual = dead.oneTime({ database: 'db1', destinations: ['/m'] });
    expect(loadState(file).operations.map((o) => o.status)).toEqual(['succeeded', 'running', 'queued', 'queued']);
    // The process dies here: no stop(), the held backup never settles.

    clock.advanceTo(new Date('2026-01-05T00:45:00Z'));
    const ex = new HeldExecutors({ auto: true });
    const next = runnerOn(file, clock, ex);
    for (const op of [running, queued, manual]) {
      expect(next.operation(op.id)).toMatchObject({ status: 'failed', isRunning: false, endedAt: '2026-01-05T00:45:00.000Z', error: { code: ErrorCodes.INTERRUPTED } });
    }
    expect(next.operation(running.id).error?.message).toContain('running');
    expect(next.operation(done.id).status).toBe('succeeded');
    const st = next.taskStatus(a.id);
    expect(st.status).toBe('error');
    expect(st.lastError).toMatchObject({ operationId: running.id, code: ErrorCodes.INTERRUPTED, at: '2026-01-05T00:45:00.000Z' });
    expect(next.taskStatus(b.id).lastError).toMatchObject({ operationId: queued.id, code: ErrorCodes.INTERRUPTED });
    // Recorded in the file at once, not only in memory.
    expect(loadState(file).operations.map((o) => o.status)).toEqual(['succeeded', 'failed', 'failed', 'failed']);
    // Nothing it left is run again; the next success clears the error.
    next.start();
    await next.idle();
    expect(ex.backups).toHaveLength(0);
    next.backupNow(a.id, 'full');
    await next.idle();
    expect(next.taskStatus(a.id).status).toBe('active');
    await next.stop();
  });
});

describe('damaged state file', () => {
  const cases: Array<[string, string]> = [
    ['not JSON', 'garbage{'],
    ['empty', ''],
    ['torn in the middle', JSON.stringify({ version: 1, tasks: [], taskState: {}, operations: [] }).slice(0, 30)],
    ['another version', JSON.stringify({ version: 2, tasks: [], taskState: {}, operations: [] })],
    ['without a task list', JSON.stringify({ version: 1, taskState: {}, operations: [] })],
    ['with a null run state', JSON.stringify({ version: 1, tasks: [], taskState: null, operations: [] })],
  ];
  for (const [what, text] of cases) {
    it(`is refused with PAGEVAULT_ERR_IO when it is ${what}, and left as it was`, () => {
      const file = join(tmp.dir, 'state.json');
      writeFileSync(file, text);
      let err: unknown;
      try {
        runnerOn(file, new FakeClock(START));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IoError);
      expect((err as IoError).code).toBe(ErrorCodes.IO);
      expect((err as IoError).message).toContain(file);
      expect(readFileSync(file, 'utf8')).toBe(text);
    });
  }

  it('a missing file is an empty state', () => {
    const runner = runnerOn(join(tmp.dir, 'none', 'state.json'), new FakeClock(START));
    expect(runner.listTasks()).toEqual([]);
  });
});

describe('history', () => {
  it(`keeps the newest ${HISTORY_LIMIT} finished operations, in memory as in the file`, async () => {
    const clock = new FakeClock(START);
    const runner = new TaskRunner({ clock, executors: new HeldExecutors({ auto: true }), context: () => ({ databases: ['db1'], schemes: ['file'] }) });
    const task = await runner.createTask({ name: 't', database: 'db1', incrementalCron: '* * * * *', destinations: ['/b'] });
    const ids: string[] = [];
    for (let i = 0; i < HISTORY_LIMIT + 25; i++) {
      ids.push(runner.backupNow(task.id, 'incremental').id);
      await runner.idle();
    }
    const kept = runner.operations({ limit: 10 * HISTORY_LIMIT });
    expect(kept).toHaveLength(HISTORY_LIMIT);
    expect(kept.at(-1)!.id).toBe(ids[25]);
    expect(kept[0].id).toBe(ids.at(-1));
    expect(() => runner.operation(ids[24])).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_FOUND }));
  });
});
