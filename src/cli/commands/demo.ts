/**
 * demo: what `npm start` runs, end to end on an embedded default database:
 * create (once) a demo document database under ./pagevault-demo/, show it, take a full
 * snapshot backup (zstd + AES-256-GCM with a demo key) while a writer is changing it,
 * change it, take an incremental, restore the chain into a new folder and verify that the
 * restored database equals the source at the backup's transaction, and verify the chain;
 * then the same with JSON backups (full, changes, incremental, restore with the indexes
 * rebuilt, comparison); then a periodic task run by the task runner for two scheduled runs.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { open } from 'lmdb';
import {
  backupJson,
  backupSnapshot,
  envInfo,
  generateDataset,
  generateKeyFile,
  loadKey,
  openDatabase,
  restoreJson,
  restoreSnapshot,
  runLoad,
  verifyChain,
  createExecutors,
  destinationSchemes,
  systemClock,
  TaskRunner,
} from '../../index.js';
import type { CommandSpec, ParsedOptions } from '../args.js';
import { formatBytes, formatCount, ProgressBar } from '../output.js';
import type { Io } from '../io.js';

export const spec: CommandSpec = {
  name: 'demo',
  summary: 'The main job on an embedded default database (what `npm start` runs).',
  usage: 'pagevault demo [--dir DIR] [--docs N]',
  description: [
    'Creates the demo database once (DIR/db), then: full snapshot backup while a writer runs, changes,',
    'incremental backup, restore into a new folder, comparison with the source, and chain verification;',
    'then a JSON backup, changes, a JSON incremental, and its restore (indexes rebuilt) compared with the source;',
    'then a periodic task (incremental every 2 seconds, first run full) run by the task runner while a writer commits.',
    'Backups go to DIR/backups (encrypted with DIR/demo.key); each run adds to the same chain.',
  ].join('\n'),
  options: {
    dir: { kind: 'string', value: 'DIR', help: 'demo directory', default: './pagevault-demo' },
    docs: { kind: 'int', value: 'N', help: 'documents in a newly created demo database', default: 100_000, min: 1, max: 1e9 },
  },
};

export async function run(o: ParsedOptions, io: Io): Promise<number> {
  const dir = resolve(o.dir as string);
  const path = join(dir, 'db');
  const backups = join(dir, 'backups');
  const keyFile = join(dir, 'demo.key');
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(path, 'data.mdb'))) {
    io.out(`creating the demo database ${path} (${formatCount(o.docs as number)} documents, seed "demo")`);
    const bar = new ProgressBar('generate', o.docs as number, { unit: ' docs', stream: io.stderr });
    const r = await generateDataset({ path, docs: o.docs as number, seed: 'demo', onProgress: (p) => bar.update(p.docs), signal: io.signal });
    bar.done();
    io.out(`generated ${formatCount(r.docs)} documents in ${r.seconds.toFixed(2)}s (${formatCount(r.docsPerSecond)} docs/s), data.mdb ${formatBytes(r.fileBytes)}`);
  } else {
    io.out(`using the existing demo database ${path}`);
  }
  const key = existsSync(keyFile) ? await loadKey({ file: keyFile }) : await generateKeyFile(keyFile);

  const info = await envInfo(path);
  io.out('');
  io.out(`1. The database (read from data.mdb by the native page reader): ${info.format.description}, page size ${formatBytes(info.pageSize)},`);
  io.out(`   last txn ${info.lastTxnId}, ${formatCount(info.lastPage + 1)} pages in use, ${info.namedDatabaseCount} named databases`);
  const db = openDatabase(path, { readOnly: true });
  try {
    const s = db.stats();
    const oslo = db.query('Users.byLocation', { equals: ['NO', 'Oslo'] }, { limit: 1_000_000 });
    io.out(`   ${formatCount(s.documents)} documents, ${formatCount(s.tombstones)} tombstones, last etag ${s.lastEtag}; ${s.indexes.length} indexes (users in Oslo: ${formatCount(oslo.length)})`);
  } finally {
    await db.close();
  }

  io.out('');
  io.out('2. Full snapshot backup (zstd + AES-256-GCM) while a writer keeps committing:');
  const stopWriter = new AbortController();
  io.signal.addEventListener('abort', () => stopWriter.abort(), { once: true });
  const load = runLoad({ path, writesPerSec: 2000, durationSec: 600, signal: stopWriter.signal, seed: `demo-${Date.now()}` });
  await new Promise((r) => setTimeout(r, 300));
  const full = await backupSnapshot({ db: path, destination: backups, name: 'demo', key, signal: io.signal });
  stopWriter.abort();
  const loaded = await load;
  io.out(`   ${full.kind} of txn ${full.txnId}: ${formatCount(full.pages)} pages, ${formatBytes(full.plaintextBytes)} → ${formatBytes(full.bytesWritten)} in ${full.seconds.toFixed(2)}s`);
  io.out(`   meanwhile the writer committed ${formatCount(loaded.writes)} writes (the backup is the database as of txn ${full.txnId})`);

  io.out('');
  io.out('3. Change the database, then an incremental backup (only the pages written since):');
  const changes = await runLoad({ path, writesPerSec: 1000, durationSec: 1, signal: io.signal, seed: `demo-changes-${Date.now()}` });
  const inc = await backupSnapshot({ db: path, destination: backups, name: 'demo', key, incremental: true, signal: io.signal });
  io.out(`   ${formatCount(changes.writes)} writes; ${inc.kind} of txn ${inc.txnId}: ${formatCount(inc.pages)} pages (${((inc.pages / Math.max(1, full.pages)) * 100).toFixed(1)}% of the full), ${formatBytes(inc.bytesWritten)} in ${inc.seconds.toFixed(2)}s`);

  io.out('');
  io.out('4. Restore the chain into a new folder and compare it with the source:');
  const to = join(dir, 'restored');
  await rm(to, { recursive: true, force: true });
  const restored = await restoreSnapshot({ from: join(backups, inc.chain), to, key, signal: io.signal });
  const same = await sameContent(path, to, restored.txnId);
  io.out(`   restored txn ${restored.txnId} from ${restored.files.length} file(s) in ${restored.seconds.toFixed(2)}s: ${same ? 'identical to the source' : 'DIFFERENT from the source'}`);

  io.out('');
  io.out('5. Verify the chain (every file, chunk and hash):');
  const v = await verifyChain({ from: join(backups, inc.chain), key, signal: io.signal });
  io.out(`   ${v.files.length} file(s) verified in ${v.chain}`);

  io.out('');
  io.out('6. JSON backups: a full, changes, an incremental (documents and deletes since the last etag):');
  const jfull = await backupJson({ db: path, destination: backups, name: 'demo', key, signal: io.signal });
  io.out(`   ${jfull.kind}: ${formatCount(jfull.docs)} documents, ${formatBytes(jfull.plaintextBytes)} of JSON → ${formatBytes(jfull.bytesWritten)} in ${jfull.seconds.toFixed(2)}s (the snapshot full was ${formatBytes(full.bytesWritten)})`);
  const jchanges = await runLoad({ path, writesPerSec: 1000, durationSec: 1, signal: io.signal, seed: `demo-json-${Date.now()}` });
  const jinc = await backupJson({ db: path, destination: backups, name: 'demo', key, incremental: true, signal: io.signal });
  io.out(`   ${formatCount(jchanges.writes)} writes; ${jinc.kind} of etags ${jinc.baseEtag ?? 0}..${jinc.lastEtag ?? 0}: ${formatCount(jinc.docs)} documents, ${formatCount(jinc.tombstones)} tombstones, ${formatBytes(jinc.bytesWritten)} in ${jinc.seconds.toFixed(2)}s`);
  const jto = join(dir, 'restored-json');
  await rm(jto, { recursive: true, force: true });
  const jr = await restoreJson({ from: join(backups, jinc.chain), to: jto, key, signal: io.signal });
  // A JSON restore is a new database: its @meta (database id, where it came from) differs by design.
  const jsame = await sameContent(path, jto, undefined, ['@meta']);
  io.out(`   restored ${formatCount(jr.docs)} documents in ${jr.recordSeconds.toFixed(2)}s and rebuilt ${jr.indexes} indexes (${formatCount(jr.indexEntries)} entries) in ${jr.indexSeconds.toFixed(2)}s: ${jsame ? 'every database identical to the source' : 'DIFFERENT from the source'}`);
  io.out('');
  io.out('7. A periodic task (what `pagevault serve` runs): incremental every 2 seconds, the first run a full, while a writer commits:');
  const scheduled = await demoTask(dir, io);
  io.out('');
  io.out('Backups can also go to S3, Google Cloud, Azure, FTP and SFTP, several at once (pagevault backup --help).');
  io.out('`pagevault serve --data DIR` hosts DIR/databases/<name> with tasks, retention, status and an HTTP API; the Studio is at /studio/.');
  return same && jsame && scheduled ? 0 : 1;
}

/** demoTask: run a scheduled task on the demo database with the real runner for two runs; true when both succeeded. */
async function demoTask(dir: string, io: Io): Promise<boolean> {
  const runner = new TaskRunner({
    clock: systemClock,
    // The demo database is DIR/db, so the hosted-databases folder is DIR and the database is "db".
    executors: createExecutors(dir),
    context: () => ({ databases: ['db'], schemes: destinationSchemes() }),
  });
  const task = await runner.createTask({ name: 'demo every 2s', database: 'db', incrementalCron: '*/2 * * * * *', destinations: [join(dir, 'scheduled')], retention: { enabled: true, minimumAgeMs: 3_600_000 } });
  const stopWriter = new AbortController();
  const load = runLoad({ path: join(dir, 'db'), writesPerSec: 500, durationSec: 60, signal: stopWriter.signal, seed: `demo-task-${Date.now()}` });
  runner.start();
  try {
    const deadline = Date.now() + 30_000;
    while (runner.operations({ taskId: task.id }).filter((o) => !o.isRunning && o.status !== 'queued').length < 2 && Date.now() < deadline && !io.signal.aborted) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await runner.stop();
    stopWriter.abort();
    await load;
  }
  const s = runner.taskStatus(task.id);
  const ops = runner.operations({ taskId: task.id }).reverse();
  for (const op of ops) {
    const r = op.result as { fileKind?: string; txnId?: number; bytesWritten?: number } | undefined;
    io.out(`   ${op.status} ${op.trigger} run: ${r?.fileKind ?? op.kind} of txn ${r?.txnId ?? '?'}, ${formatBytes(r?.bytesWritten ?? 0)} in ${((op.durationMs ?? 0) / 1000).toFixed(2)}s${op.error ? ` (${op.error.code}: ${op.error.message})` : ''}`);
  }
  io.out(`   task status ${s.status}; last full ${s.lastFull?.at ?? '-'}, last incremental ${s.lastIncremental?.at ?? '-'}; retention 1 hour on ${join(dir, 'scheduled')}`);
  return ops.length >= 2 && ops.every((o) => o.status === 'succeeded');
}

/**
 * sameContent: whether the source is still at `txnId` (unless undefined) and every named database of the restored
 * copy but `except` equals it, byte for byte, with the same set of named databases.
 */
async function sameContent(sourcePath: string, restoredPath: string, txnId: number | undefined, except: string[] = []): Promise<boolean> {
  const info = await envInfo(sourcePath);
  if (txnId !== undefined && info.lastTxnId !== txnId) return false;
  const names = (i: typeof info) => (i.namedDatabases ?? []).map((d) => d.name).join('\n');
  if (names(await envInfo(restoredPath)) !== names(info)) return false;
  const a = open({ path: sourcePath, readOnly: true, maxDbs: 64, noSubdir: false });
  const b = open({ path: restoredPath, readOnly: true, maxDbs: 64, noSubdir: false });
  try {
    for (const d of info.namedDatabases ?? []) {
      if (except.includes(d.name)) continue;
      const opts = { keyEncoding: 'binary' as const, encoding: 'binary' as const, dupSort: (d.flags & 0x04) !== 0 };
      const ia = a.openDB(d.name, opts).getRange({ start: Buffer.alloc(0) } as never)[Symbol.iterator]();
      const ib = b.openDB(d.name, opts).getRange({ start: Buffer.alloc(0) } as never)[Symbol.iterator]();
      for (;;) {
        const x = ia.next();
        const y = ib.next();
        if (x.done || y.done) {
          if (x.done !== y.done) return false;
          break;
        }
        if (!Buffer.from(x.value.key as Buffer).equals(y.value.key as Buffer) || !Buffer.from(x.value.value as Buffer).equals(y.value.value as Buffer)) return false;
      }
    }
    return true;
  } finally {
    await a.close();
    await b.close();
  }
}
