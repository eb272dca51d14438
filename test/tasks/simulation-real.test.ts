/**
 * Five weeks of a periodic snapshot task with real backups: a small real lmdb-js database
 * hosted at `<databases>/shop` takes writes between runs; the task (full weekly, Sunday
 * 02:00 UTC; incremental hourly; retention 7 days) runs through the real executors
 * (createExecutors with the FakeClock, so chain folders, file names and manifest times
 * are the simulated ones) into a local folder, driven as a server's timer would drive it.
 *
 * The expected chains are computed here from the calendar: a chain starts at the first
 * run and every Sunday 02:00; a chain is removed by the first run more than 7 days after
 * its newest file. At the end the folder holds exactly the kept chains, each whole, and
 * the newest chain restores (through the runner's real restore) to the database as it
 * was at the last run.
 */
import { join } from 'node:path';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/tasks/clock.js';
import { TaskRunner } from '../../src/tasks/runner.js';
import { createExecutors } from '../../src/tasks/executor.js';
import type { BackupOutcome, RestoreOutcome } from '../../src/tasks/operation.js';
import { chainFolderName, utcStamp } from '../../src/backup/naming.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { DAY, HOUR, drive, expectWholeChains, hostDatabase, readDestination } from './support.js';

const tmp = useTmpEnv();

describe('periodic task with real backups over five weeks', () => {
  it('writes the scheduled fulls and incrementals and keeps exactly the chains the 7-day retention allows', async () => {
    const start = new Date('2026-01-05T00:30:00.000Z'); // a Monday
    const end = new Date('2026-02-09T12:00:00.000Z');
    const { databasesDir, env } = await hostDatabase(tmp, 'shop');
    const clock = new FakeClock(start);
    const dest = join(tmp.dir, 'backups');
    const runner = new TaskRunner({ clock, executors: createExecutors(databasesDir, () => clock.now()), context: () => ({ databases: ['shop'], schemes: ['file'] }) });
    const task = await runner.createTask({ database: 'shop', fullCron: '0 2 * * 0', incrementalCron: '0 * * * *', retention: { minimumAgeMs: 7 * DAY }, destinations: [dest] });
    runner.start();

    // A writer between runs: every run has something new to carry.
    let writes = 0;
    const visited = await drive(runner, clock, end, async (at) => {
      writes++;
      await env.put(`k-${at.toISOString()}`, { n: writes, pad: 'y'.repeat(writes % 7 === 0 ? 3000 : 40) });
    });

    // The calendar, computed without the runner.
    const instants: Date[] = [];
    for (let t = Date.parse('2026-01-05T01:00:00Z'); t <= end.getTime(); t += HOUR) instants.push(new Date(t));
    expect(visited.map((d) => d.toISOString())).toEqual(instants.map((d) => d.toISOString()));
    const isFull = (t: Date, i: number): boolean => i === 0 || (t.getUTCDay() === 0 && t.getUTCHours() === 2);
    const chains: Array<{ folder: string; files: Date[] }> = [];
    instants.forEach((t, i) => {
      if (isFull(t, i)) chains.push({ folder: chainFolderName(t, 'shop', 'snapshot'), files: [] });
      chains.at(-1)!.files.push(t);
    });
    expect(chains).toHaveLength(6);

    // Every run succeeded, as the kind its instant called for, into the right chain, at its instant.
    const ops = runner.operations({ taskId: task.id, limit: 10_000 }).reverse();
    expect(ops).toHaveLength(instants.length);
    ops.forEach((op, i) => {
      const t = instants[i];
      const chain = chains.find((c) => c.files.some((f) => f.getTime() === t.getTime()))!;
      const result = op.result as BackupOutcome;
      expect(op, t.toISOString()).toMatchObject({ status: 'succeeded', trigger: 'schedule', kind: isFull(t, i) ? 'full' : 'incremental', queuedAt: t.toISOString(), startedAt: t.toISOString() });
      expect(result).toMatchObject({ chain: chain.folder, file: `${utcStamp(t)}.${isFull(t, i) ? 'full' : 'incremental'}-snapshot`, fileKind: isFull(t, i) ? 'full-snapshot' : 'incremental-snapshot' });
      expect(result.fullReason).toBeUndefined();
    });

    // Each chain is removed by the first run more than 7 days after its newest file, and by no other.
    const sinkName = `file://${dest}`;
    const removedBy = new Map<number, string[]>();
    for (const c of chains.slice(0, -1)) {
      const due = instants.findIndex((t) => t.getTime() - c.files.at(-1)!.getTime() > 7 * DAY);
      if (due >= 0) removedBy.set(due, [...(removedBy.get(due) ?? []), `${sinkName}/${c.folder}`]);
    }
    expect([...removedBy.keys()]).toHaveLength(4);
    ops.forEach((op, i) => {
      expect((op.result as BackupOutcome).retention, instants[i].toISOString()).toEqual({ removed: removedBy.get(i) ?? [], errors: [] });
    });

    // The folder holds exactly the chains within 7 days of the end, and the newest; each whole.
    const keep = chains.filter((c, i) => i === chains.length - 1 || end.getTime() - c.files.at(-1)!.getTime() <= 7 * DAY);
    expect(keep.map((c) => c.folder)).toEqual(chains.slice(-2).map((c) => c.folder));
    const folders = readDestination(dest);
    expectWholeChains(folders);
    const kept = folders.filter((f) => f.files.length > 0);
    expect(kept.map((f) => f.folder)).toEqual(keep.map((c) => c.folder));
    for (const f of kept) {
      const c = keep.find((x) => x.folder === f.folder)!;
      expect(f.manifest!.created).toBe(c.files[0].toISOString());
      expect(f.manifest!.manual).toBeUndefined();
      expect(f.manifest!.files.map((x) => `${x.seq} ${x.kind} ${x.created}`)).toEqual(c.files.map((d, i) => `${i} ${i === 0 ? 'full' : 'incremental'}-snapshot ${d.toISOString()}`));
    }
    // Removed chains left no file behind (an empty folder at most).
    for (const f of folders) if (!kept.includes(f)) expect(f.files).toEqual([]);

    const status = runner.taskStatus(task.id);
    expect(status).toMatchObject({
      status: 'active',
      lastFull: { at: '2026-02-08T02:00:00.000Z', fileKind: 'full-snapshot', chain: chains[5].folder },
      lastIncremental: { at: end.toISOString(), fileKind: 'incremental-snapshot', chain: chains[5].folder },
      nextBackup: { at: '2026-02-09T13:00:00.000Z', kind: 'incremental' },
    });

    // The newest chain restores to the database as of the last run.
    const expected = [...env.getRange({})].map(({ key, value }) => [key, value]);
    expect(expected).toHaveLength(50 + writes);
    const restore = runner.restore({ source: join(dest, chains[5].folder), database: 'shop-restored' });
    await runner.idle();
    expect(runner.operation(restore.id)).toMatchObject({ status: 'succeeded', result: { database: 'shop-restored', files: chains[5].files.length } });
    const restored = open({ path: (runner.operation(restore.id).result as RestoreOutcome).path });
    try {
      expect([...restored.getRange({})].map(({ key, value }) => [key, value])).toEqual(expected);
    } finally {
      await restored.close();
    }
    await runner.stop();
  });
});
