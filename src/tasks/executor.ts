/**
 * executor: the real work behind the runner — backups with `backup()`, restores with
 * `restore()`, retention with retention-run.ts — for databases hosted under one folder
 * (`<data dir>/databases/<name>`). Progress is mapped onto the runner's
 * OperationProgress; keys are loaded per run from the task's key file or environment
 * variable, so a rotated key file is picked up by the next run.
 */
import { mkdir } from 'node:fs/promises';
import { pathExists } from '../util/files.js';
import { join } from 'node:path';
import { backup, restore } from '../api.js';
import { DestinationNotEmptyError, InvalidArgumentError } from '../errors.js';
import { loadKey, type LoadedKey } from '../keys/index.js';
import { openSink } from '../sinks/registry.js';
import type { Executors, RestoreJob } from './runner.js';
import type { TaskEncryption } from './task.js';
import { applyRetentionOn } from './retention-run.js';
import type { BackupOutcome, RestoreOutcome } from './operation.js';

/** DATABASE_NAME: names a hosted database may have (a folder name, no path tricks). */
export const DATABASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** checkDatabaseName: throws InvalidArgumentError unless `name` can be a hosted database's folder. */
export function checkDatabaseName(name: string): string {
  if (typeof name !== 'string' || !DATABASE_NAME.test(name)) {
    throw new InvalidArgumentError(`invalid database name ${JSON.stringify(name)}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return name;
}

/** keyFor: the LoadedKey of a task's encryption, or undefined for none. */
export async function keyFor(encryption: TaskEncryption | undefined): Promise<LoadedKey | undefined> {
  if (!encryption || encryption.mode === 'none') return undefined;
  if (encryption.keyFile) return loadKey({ file: encryption.keyFile });
  return loadKey({ env: encryption.keyEnv! });
}

/**
 * createExecutors: executors for databases in `databasesDir` (`<databasesDir>/<name>` each).
 * `now` names and dates the backups (chain folders, files, manifest times); give it the
 * runner's clock (`() => clock.now()`) so both agree. Default: the wall clock.
 * `databaseKey` gives the lmdb-js encryptionKey of a database lmdb-js encrypts (snapshots
 * need it to open the database and for incrementals), or undefined.
 */
export function createExecutors(databasesDir: string, now?: () => Date, databaseKey?: (database: string) => Promise<string | undefined>): Executors {
  const pathOf = (name: string): string => join(databasesDir, checkDatabaseName(name));
  return {
    async backup(job, ctx) {
      const key = await keyFor(job.encryption);
      const common = {
        db: pathOf(job.database),
        destination: job.destinations,
        incremental: job.kind === 'incremental',
        name: job.database,
        key,
        manual: job.manual,
        ...(now ? { now } : {}),
        ...(job.compression ? { compression: job.compression } : {}),
        ...(job.level !== undefined ? { level: job.level } : {}),
        signal: ctx.signal,
      };
      if (job.type === 'backup') {
        const r = await backup({
          ...common,
          type: 'backup',
          onProgress: (p) => ctx.onProgress({ phase: p.phase, done: p.records, total: p.estimatedRecords, unit: 'records', bytesIn: p.bytesIn, bytesOut: p.bytesOut, elapsedMs: p.elapsedMs, destinations: p.destinations }),
        });
        return outcome(r, undefined);
      }
      const dbKey = await databaseKey?.(job.database);
      const r = await backup({
        ...common,
        ...(dbKey !== undefined ? { dbKey } : {}),
        onProgress: (p) => ctx.onProgress({ phase: p.phase, done: p.pages, total: p.totalPages, unit: 'pages', bytesIn: p.bytesIn, bytesOut: p.bytesOut, elapsedMs: p.elapsedMs, destinations: p.destinations }),
      });
      return outcome(r, r.pinnedMs);
    },

    async sweep(destinations) {
      const removed: string[] = [];
      for (const dest of destinations) {
        // Local folders, FTP and SFTP keep the partial file of a killed put; object stores never show an unfinished
        // upload, so their sinks have nothing to sweep.
        const sink = await openSink(dest).catch(() => undefined);
        try {
          if (sink?.sweepAbandoned) removed.push(...(await sink.sweepAbandoned()).map((k) => `${sink.name}/${k}`));
        } finally {
          await sink?.close();
        }
      }
      return removed;
    },

    async retention(task, now) {
      const removed: string[] = [];
      const errors: string[] = [];
      for (const dest of task.destinations) {
        let sink;
        try {
          sink = await openSink(dest);
          const run = await applyRetentionOn(sink, task.database, task.type, task.retention, now);
          removed.push(...run.removed.map((f) => `${sink!.name}/${f}`));
        } catch (err) {
          errors.push(`${sink?.name ?? dest}: ${(err as Error).message}`);
        } finally {
          await sink?.close();
        }
      }
      return { removed, errors };
    },

    async restore(job: RestoreJob, ctx): Promise<RestoreOutcome> {
      const to = pathOf(job.database);
      if (await pathExists(to)) throw new DestinationNotEmptyError(`database ${job.database} already exists (${to}); restore into a new name`);
      const key = await keyFor(job.encryption);
      await mkdir(databasesDir, { recursive: true });
      const started = performance.now();
      // restore() writes under a temporary name and renames into place; on failure nothing is left under `to`.
      const r = await restore({
        from: job.source,
        to,
        ...(job.upto !== undefined ? { upto: job.upto } : {}),
        ...(job.defrag ? { compact: true } : {}),
        key,
        signal: ctx.signal,
        onProgress: (p) => {
          // Snapshot restores report files; JSON restores report records, then documents indexed.
          const json = 'phase' in p ? p : undefined;
          const indexing = json?.phase === 'indexes';
          ctx.onProgress({
            phase: json ? json.phase : 'files',
            done: !json ? p.fileIndex : indexing ? json.indexedDocs : json.records,
            total: !json ? p.files : indexing ? json.docsTotal : 0,
            unit: !json ? 'files' : indexing ? 'documents' : 'records',
            bytesIn: p.bytesRead,
            bytesOut: 0,
            elapsedMs: performance.now() - started,
          });
        },
      });
      return { database: job.database, path: to, files: r.files.length, txnId: r.txnId };
    },
  };
}


function outcome(r: { chain: string; file: string; kind: string; txnId: number; bytesWritten: number; plaintextBytes: number; fullReason?: string; destinations: BackupOutcome['destinations'] }, pinnedMs: number | undefined): BackupOutcome {
  return {
    chain: r.chain,
    file: r.file,
    fileKind: r.kind,
    txnId: r.txnId,
    ...(pinnedMs !== undefined ? { pinnedMs } : {}),
    bytesWritten: r.bytesWritten,
    plaintextBytes: r.plaintextBytes,
    ...(r.fullReason ? { fullReason: r.fullReason } : {}),
    destinations: r.destinations,
  };
}
