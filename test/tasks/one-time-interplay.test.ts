/**
 * One-time (manual) backups beside periodic tasks, with real backups of a real lmdb-js
 * database into a real folder through the runner and the real executors: a one-time
 * chain is marked manual in its manifest, task backups never extend it (they extend the
 * task's own chain, or take a full and say why), a one-time incremental extends only the
 * manual chain, and retention never removes a manual chain whatever its age. Also an
 * incremental-only task: its first run is a full, then one chain grows and is never
 * removed by retention, being the newest.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/tasks/clock.js';
import { TaskRunner } from '../../src/tasks/runner.js';
import { createExecutors } from '../../src/tasks/executor.js';
import type { BackupOutcome } from '../../src/tasks/operation.js';
import { utcStamp } from '../../src/backup/naming.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { HOUR, drive, expectWholeChains, hostDatabase, readDestination, type DestFolder } from './support.js';

const tmp = useTmpEnv();
const START = new Date('2026-01-05T00:30:00.000Z');

describe('one-time backups and task backups on the same destination', () => {
  it('keeps manual chains apart: never extended by the task, never removed by retention', async () => {
    const { databasesDir, env } = await hostDatabase(tmp, 'shop');
    const clock = new FakeClock(START);
    const dest = join(tmp.dir, 'backups');
    const runner = new TaskRunner({ clock, executors: createExecutors(databasesDir, () => clock.now()), context: () => ({ databases: ['shop'], schemes: ['file'] }) });
    const task = await runner.createTask({ database: 'shop', incrementalCron: '0 * * * *', retention: { minimumAgeMs: HOUR }, destinations: [dest] });
    runner.start();
    const result = (id: string): BackupOutcome => runner.operation(id).result as BackupOutcome;
    const chain = (folder: string): DestFolder => readDestination(dest).find((f) => f.folder === folder)!;

    // 00:30: a one-time full: a manual chain.
    const m1 = runner.oneTime({ database: 'shop', destinations: [dest] });
    await runner.idle();
    expect(runner.operation(m1.id)).toMatchObject({ status: 'succeeded', trigger: 'one-time' });
    const manual1 = result(m1.id).chain;
    expect(chain(manual1).manifest).toMatchObject({ manual: true, created: START.toISOString(), files: [{ kind: 'full-snapshot' }] });

    // 00:40: backup now, incremental: the manual chain is not the task's to extend, so a full.
    clock.advanceTo(new Date('2026-01-05T00:40:00Z'));
    await env.put('a', 1);
    const now1 = runner.backupNow(task.id, 'incremental');
    await runner.idle();
    const own = result(now1.id);
    expect(own.chain).not.toBe(manual1);
    expect(own.fileKind).toBe('full-snapshot');
    expect(own.fullReason).toBe('no chain exists yet');
    expect(chain(own.chain).manifest!.manual).toBeUndefined();

    // 00:50: another one-time full, now the newest chain folder on the destination.
    clock.advanceTo(new Date('2026-01-05T00:50:00Z'));
    await env.put('b', 2);
    const m2 = runner.oneTime({ database: 'shop', destinations: [dest] });
    await runner.idle();
    const manual2 = result(m2.id).chain;
    expect(manual2 > own.chain).toBe(true);

    // 01:00: the scheduled incremental extends the task's chain, not the newer manual one.
    await env.put('c', 3);
    await drive(runner, clock, new Date('2026-01-05T01:00:00Z'));
    const [sched] = runner.operations({ taskId: task.id, limit: 1 });
    expect(sched).toMatchObject({ trigger: 'schedule', kind: 'incremental', status: 'succeeded' });
    expect(result(sched.id)).toMatchObject({ chain: own.chain, fileKind: 'incremental-snapshot' });
    expect(chain(own.chain).manifest!.files.map((f) => f.kind)).toEqual(['full-snapshot', 'incremental-snapshot']);
    expect(chain(manual2).manifest!.files).toHaveLength(1);

    // 01:10: a one-time incremental extends the newest manual chain, not the task's.
    clock.advanceTo(new Date('2026-01-05T01:10:00Z'));
    await env.put('d', 4);
    const m3 = runner.oneTime({ database: 'shop', destinations: [dest], incremental: true });
    await runner.idle();
    expect(result(m3.id)).toMatchObject({ chain: manual2, fileKind: 'incremental-snapshot' });
    expect(chain(manual2).manifest).toMatchObject({ manual: true, files: [{ kind: 'full-snapshot' }, { kind: 'incremental-snapshot', created: '2026-01-05T01:10:00.000Z' }] });
    expect(chain(own.chain).manifest!.files).toHaveLength(2);

    // 01:20: backup now, full: a second task chain. The scheduled runs extend it, and the
    // 1-hour retention then removes the first task chain, but neither manual chain.
    clock.advanceTo(new Date('2026-01-05T01:20:00Z'));
    const now2 = runner.backupNow(task.id, 'full');
    await runner.idle();
    const second = result(now2.id).chain;
    expect(result(now2.id).retention).toBeUndefined();
    await drive(runner, clock, new Date('2026-01-05T02:00:00Z'));
    expect(result(runner.operations({ taskId: task.id, limit: 1 })[0].id)).toMatchObject({ chain: second, retention: { removed: [], errors: [] } });
    await drive(runner, clock, new Date('2026-01-05T03:00:00Z'));
    const [last] = runner.operations({ taskId: task.id, limit: 1 });
    // The first task chain's newest file (01:00) is now more than an hour old.
    expect(result(last.id)).toMatchObject({ chain: second, retention: { removed: [`file://${dest}/${own.chain}`], errors: [] } });

    // A day later, still only the task chain goes: manual chains are kept at any age.
    await drive(runner, clock, new Date('2026-01-06T03:00:00Z'));
    const folders = readDestination(dest);
    expectWholeChains(folders);
    expect(folders.filter((f) => f.files.length > 0).map((f) => f.folder)).toEqual([manual1, manual2, second].sort());
    expect(chain(manual1).manifest!.files.map((f) => f.name)).toEqual([`${utcStamp(START)}.full-snapshot`]);
    expect(chain(manual2).manifest!.files).toHaveLength(2);
    expect(chain(second).manifest!.files).toHaveLength(1 + 26);
    expect(folders.some((f) => f.folder === own.chain)).toBe(false); // removed whole, folder included
    expect(runner.operations({ limit: 10_000 }).every((o) => o.status === 'succeeded')).toBe(true);
    await runner.stop();
  });
});

describe('incremental-only task with real backups', () => {
  it('starts with a full, then grows one chain that retention keeps as the newest', async () => {
    const { databasesDir, env } = await hostDatabase(tmp, 'crm');
    const clock = new FakeClock(START);
    const dest = join(tmp.dir, 'backups');
    const runner = new TaskRunner({ clock, executors: createExecutors(databasesDir, () => clock.now()), context: () => ({ databases: ['crm'], schemes: ['file'] }) });
    const task = await runner.createTask({ database: 'crm', incrementalCron: '0 * * * *', retention: { minimumAgeMs: HOUR }, destinations: [dest] });
    runner.start();
    expect(runner.taskStatus(task.id).nextBackup).toEqual({ at: '2026-01-05T01:00:00.000Z', kind: 'full' });
    const visited = await drive(runner, clock, new Date('2026-01-07T00:00:00Z'), (at) => env.put(`k-${at.getTime()}`, at.toISOString()));
    expect(visited).toHaveLength(48);

    const ops = runner.operations({ taskId: task.id, limit: 1000 }).reverse();
    expect(ops.map((o) => o.kind)).toEqual(['full', ...Array(47).fill('incremental')]);
    const chainName = (ops[0].result as BackupOutcome).chain;
    for (const op of ops) {
      expect(op.status).toBe('succeeded');
      expect(op.result).toMatchObject({ chain: chainName, retention: { removed: [], errors: [] } });
    }
    const folders = readDestination(dest);
    expectWholeChains(folders);
    expect(folders.map((f) => f.folder)).toEqual([chainName]);
    expect(folders[0].manifest!.files.map((f) => f.created)).toEqual(visited.map((d) => d.toISOString()));
    expect(folders[0].manifest!.files[0].kind).toBe('full-snapshot');
    expect(runner.taskStatus(task.id)).toMatchObject({ lastFull: { at: '2026-01-05T01:00:00.000Z' }, lastIncremental: { at: '2026-01-07T00:00:00.000Z' }, nextBackup: { kind: 'incremental' } });

    // A pause longer than the retention period: the chain's newest file is old, but it is
    // the newest chain, and the next run extends it before retention looks.
    runner.delay(task.id, new Date('2026-01-09T00:00:00Z'));
    await drive(runner, clock, new Date('2026-01-09T01:00:00Z'));
    const after = readDestination(dest);
    expect(after.map((f) => f.folder)).toEqual([chainName]);
    expect(after[0].manifest!.files).toHaveLength(50);
    expect(after[0].manifest!.files.slice(-2).map((f) => f.created)).toEqual(['2026-01-09T00:00:00.000Z', '2026-01-09T01:00:00.000Z']);
    await runner.stop();
  });
});
