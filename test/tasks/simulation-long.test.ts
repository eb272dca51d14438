/**
 * Three and a half months of a weekly-full task with hourly incrementals and a
 * 7-day retention, in Europe/Oslo across the spring DST switch, driven by a FakeClock the
 * way a server's timer drives it. Backups here are written by a small in-test executor (a
 * marker file and a real manifest.json per run, through LocalSink and chain-store), the
 * real retention executor lists and removes chains on the real folder.
 * (simulation-real.test.ts runs real hourly backups over five weeks.)
 *
 * The expected runs are computed here from the calendar with Intl, independently of the
 * runner and croner: an incremental at every hour, a full on Sunday
 * at the first instant at or after 02:00 local time (03:00 on the day 02:00 does not
 * exist), and the first run a full. After every run the destination must hold exactly the
 * chains whose newest file is at most 7 days old, plus the newest chain, each with every
 * file it ever got.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/tasks/clock.js';
import { TaskRunner, type Executors } from '../../src/tasks/runner.js';
import { createExecutors } from '../../src/tasks/executor.js';
import { LocalSink } from '../../src/sinks/local.js';
import { newestChain, writeManifest } from '../../src/backup/chain-store.js';
import { withFile, type ManifestFile } from '../../src/backup/manifest.js';
import { backupFileName, chainFolderName, utcStamp, type FileKind } from '../../src/backup/naming.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { DAY, HOUR, expectWholeChains, readDestination } from './support.js';

const tmp = useTmpEnv();

/**
 * markerExecutors: a backup writes a one-line file and the chain manifest at the clock's
 * time (a full starts a chain; an incremental extends the newest non-manual chain, or
 * starts one when there is none); retention and restore are the real ones.
 */
function markerExecutors(databasesDir: string, clock: FakeClock): Executors {
  const real = createExecutors(databasesDir, () => clock.now());
  let txn = 0;
  return {
    ...real,
    async backup(job) {
      const sink = new LocalSink(job.destinations[0]);
      const now = clock.now();
      const found = job.kind === 'incremental' ? await newestChain(sink, job.database, 'snapshot', job.manual) : undefined;
      const chain = found && !('fullReason' in found) ? found : undefined;
      const kind: FileKind = chain ? 'incremental-snapshot' : 'full-snapshot';
      const folder = chain?.folder ?? chainFolderName(now, job.database, 'snapshot');
      const name = backupFileName(now, kind, false);
      const put = await sink.put(`${folder}/${name}`, Readable.from([Buffer.from(`${name}\n`)]));
      const prev = chain?.manifest.files.at(-1);
      txn += 1;
      const entry: ManifestFile = { name, kind, seq: chain?.manifest.files.length ?? 0, baseTxnId: prev?.txnId ?? 0, txnId: txn, lastPage: 1, size: put.size, sha256: '', created: now.toISOString(), pages: 1, plaintextBytes: put.size };
      const manifest = withFile(chain?.manifest, entry, {
        chainId: randomUUID(),
        type: 'snapshot',
        database: { name: job.database, path: '/nowhere', dev: 0, ino: 0 },
        pageSize: 4096,
        lmdbFormat: { dataVersion: 1, pageHeaderSize: 16 },
        key: undefined,
        compression: 'none',
        created: now,
        manual: job.manual,
      });
      await writeManifest(sink, folder, manifest);
      await sink.close();
      return { chain: folder, file: name, fileKind: kind, txnId: txn, bytesWritten: put.size, plaintextBytes: put.size, destinations: [{ destination: sink.name, ok: true, bytes: put.size, ms: 0 }] };
    },
  };
}

const osloParts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Oslo', weekday: 'short', hour: 'numeric', hourCycle: 'h23', day: 'numeric', month: 'numeric' });
/** Oslo wall time of `t`: weekday, day key and hour. */
function oslo(t: Date): { weekday: string; day: string; hour: number } {
  const p = Object.fromEntries(osloParts.formatToParts(t).map((x) => [x.type, x.value]));
  return { weekday: p.weekday, day: `${p.month}-${p.day}`, hour: Number(p.hour) };
}

/** The runs from `from` (exclusive) to `to` (inclusive): whole UTC hours are whole Oslo hours. */
function calendar(from: Date, to: Date): Array<{ at: Date; full: boolean }> {
  const runs: Array<{ at: Date; full: boolean }> = [];
  const fullDone = new Set<string>();
  for (let t = Math.ceil((from.getTime() + 1) / HOUR) * HOUR; t <= to.getTime(); t += HOUR) {
    const at = new Date(t);
    const local = oslo(at);
    const full = local.weekday === 'Sun' && local.hour >= 2 && !fullDone.has(local.day);
    if (full) fullDone.add(local.day);
    runs.push({ at, full: full || runs.length === 0 });
  }
  return runs;
}

describe('scheduler and retention over months of simulated time', () => {
  it('keeps exactly the chains the 7-day retention allows, removing whole chains, across a DST switch', async () => {
    const start = new Date('2026-01-05T00:30:00.000Z');
    const end = new Date('2026-04-20T12:00:00.000Z');
    const clock = new FakeClock(start);
    const dest = join(tmp.dir, 'backups');
    const runner = new TaskRunner({ clock, executors: markerExecutors(join(tmp.dir, 'databases'), clock), context: () => ({ databases: ['shop'], schemes: ['file'] }) });
    const task = await runner.createTask({ database: 'shop', fullCron: '0 2 * * 0', incrementalCron: '0 * * * *', timeZone: 'Europe/Oslo', retention: { minimumAgeMs: 7 * DAY }, destinations: [dest] });
    runner.start();

    const expected = calendar(start, end);
    const chains: Array<{ folder: string; files: Date[] }> = [];
    for (const [i, run] of expected.entries()) {
      const t = runner.nextWakeup()!;
      expect(t.toISOString()).toBe(run.at.toISOString());
      if (run.full) chains.push({ folder: chainFolderName(t, 'shop', 'snapshot'), files: [] });
      chains.at(-1)!.files.push(t);

      clock.advanceTo(t);
      await runner.idle();
      const [op] = runner.operations({ limit: 1 });
      expect(op, `run ${i} at ${t.toISOString()}`).toMatchObject({ status: 'succeeded', kind: run.full ? 'full' : 'incremental', queuedAt: t.toISOString() });

      // After every run: the chains within 7 days of now, and the newest.
      const keep = chains.filter((c, i) => i === chains.length - 1 || t.getTime() - c.files.at(-1)!.getTime() <= 7 * DAY);
      const onDisk = readDestination(dest).filter((f) => f.files.length > 0);
      expect(onDisk.map((f) => f.folder)).toEqual(keep.map((c) => c.folder));
      const newest = onDisk.at(-1)!;
      expect(newest.files).toHaveLength(chains.at(-1)!.files.length + 1);
    }
    expect(runner.nextWakeup()!.getTime()).toBeGreaterThan(end.getTime());
    // The calendar itself: the Sunday fulls move from 01:00Z to 00:00Z with summer time,
    // and on the switch day (02:00 does not exist) the full is at 03:00 CEST, 01:00Z.
    const fulls = expected.filter((r) => r.full).map((r) => r.at.toISOString());
    expect(fulls).toHaveLength(16);
    expect(fulls.slice(11, 15)).toEqual(['2026-03-22T01:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-04-05T00:00:00.000Z', '2026-04-12T00:00:00.000Z']);
    expect(expected.length).toBeGreaterThan(2500);

    // At the end, each kept chain holds every file it got, named and dated by the clock.
    const final = readDestination(dest);
    expectWholeChains(final);
    const kept = final.filter((f) => f.files.length > 0);
    expect(kept.map((f) => f.folder)).toEqual(chains.slice(-2).map((c) => c.folder));
    for (const f of kept) {
      const c = chains.find((x) => x.folder === f.folder)!;
      expect(f.manifest!.files.map((x) => x.created)).toEqual(c.files.map((d) => d.toISOString()));
      expect(f.manifest!.files.map((x) => x.name)).toEqual(c.files.map((d, i) => `${utcStamp(d)}.${i === 0 ? 'full' : 'incremental'}-snapshot`));
    }
    // Removed chains left no file behind (their folders are empty or gone).
    for (const f of final) if (!kept.includes(f)) expect(f.files).toEqual([]);

    const status = runner.taskStatus(task.id);
    expect(status.lastFull?.at).toBe('2026-04-19T00:00:00.000Z');
    expect(status.lastIncremental?.at).toBe('2026-04-20T12:00:00.000Z');
    // 15:00 in Oslo (CEST).
    expect(status.nextBackup).toEqual({ at: '2026-04-20T13:00:00.000Z', kind: 'incremental' });
    expect(status.status).toBe('active');
    await runner.stop();
  });
});
