/**
 * snapshot-under-load: writer throughput while a full snapshot runs, against the same
 * writer with no backup running. Untimed set-up: clone the dataset and start
 * `pagevault load --writes-per-sec 0` (as fast as it can) in another process; after a
 * second of warm-up, count its commits over 3 s (each write takes exactly one etag, so
 * the growth of `@meta.lastEtag` counts writes). Timed: the full snapshot (zstd 3 + AES),
 * counting the writer's commits meanwhile. The JSON reports both rates and their ratio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, type RootDatabase } from 'lmdb';
import { backupSnapshot, type LoadedKey } from '../../src/index.js';
import type { Scenario } from '../scenario.js';
import { benchKey, cloneEnv } from './snapshot-common.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/pagevault.js');

interface State {
  env: string;
  key: LoadedKey;
  writer: ChildProcess;
  reader: RootDatabase;
  idleWritesPerSec: number;
}

function lastEtag(reader: RootDatabase): number {
  reader.resetReadTxn();
  return Number(reader.openDB<number, string>('@meta', {}).get('lastEtag') ?? 0);
}

async function rate(reader: RootDatabase, ms: number): Promise<number> {
  const a = lastEtag(reader);
  const t = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return (lastEtag(reader) - a) / ((performance.now() - t) / 1000);
}

/** scenario: snapshot-under-load. */
export const scenario: Scenario<State> = {
  name: 'snapshot-under-load',
  description: 'pagevault full snapshot while `pagevault load` writes as fast as it can in another process; writer throughput vs idle',
  async prepare(ctx) {
    const env = await cloneEnv(ctx.envDir, ctx.outDir);
    const key = await benchKey();
    const writer = spawn(process.execPath, [BIN, 'load', '--db', env, '--writes-per-sec', '0', '--duration', '3600', '--quiet'], { stdio: 'ignore' });
    // Never leave the writer behind, whatever happens to this run (a failed run skips `after`).
    process.once('exit', () => writer.kill('SIGKILL'));
    // Read-write, though it only reads: lmdb-js cannot mix a read-only and a read-write handle of one
    // environment in a process, and the backup (same process) pins through a writable one (it reuses this).
    const reader = open({ path: env, noSubdir: false, maxDbs: 64 });
    await new Promise((r) => setTimeout(r, 1000));
    const idleWritesPerSec = await rate(reader, 3000);
    return { env, key, writer, reader, idleWritesPerSec };
  },
  inputs(_ctx, s) {
    return [`${s.env}/data.mdb`];
  },
  async run(ctx, s) {
    const before = lastEtag(s.reader);
    const t = performance.now();
    const r = await backupSnapshot({ db: s.env, destination: `${ctx.outDir}/backups`, name: 'bench', key: s.key });
    const seconds = (performance.now() - t) / 1000;
    const duringWritesPerSec = (lastEtag(s.reader) - before) / seconds;
    return {
      outputBytes: r.bytesWritten,
      extra: {
        idleWritesPerSec: Math.round(s.idleWritesPerSec),
        duringWritesPerSec: Math.round(duringWritesPerSec),
        writerThroughputVsIdle: duringWritesPerSec / s.idleWritesPerSec,
        pinnedMs: r.pinnedMs,
        dataFileGrowthBytes: r.dataFileGrowthBytes,
      },
    };
  },
  async after(_ctx, s) {
    s.writer.kill('SIGKILL');
    await s.reader.close();
  },
};
