import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupSnapshot } from '../../src/backup/snapshot-backup.js';
import { acquireBackupLock } from '../../src/backup/lock.js';
import { restoreSnapshot } from '../../src/restore/snapshot-restore.js';
import { verifyChain } from '../../src/restore/verify.js';
import { generateKeyFile, loadKey } from '../../src/keys/index.js';
import { ErrorCodes } from '../../src/errors.js';
import { generateDataset } from '../../src/generate/generate.js';
import { runLoad } from '../../src/generate/load.js';
import { digestEnv } from '../helpers/env-digest.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv();
const BIN = resolve(__dirname, '../../bin/pagevault.js');

async function chainOf(docs = 3000): Promise<{ db: string; dest: string; chain: string; files: string[] }> {
  const db = join(tmp.dir, 'db');
  await generateDataset({ path: db, docs, seed: 'bad-input', threads: 0 });
  const dest = join(tmp.dir, 'dest');
  const full = await backupSnapshot({ db, destination: dest, name: 'db' });
  await runLoad({ path: db, writesPerSec: 0, durationSec: 0.3 });
  const inc = await backupSnapshot({ db, destination: dest, name: 'db', incremental: true });
  expect(inc.kind).toBe('incremental-snapshot');
  return { db, dest, chain: join(dest, full.chain), files: [full.file, inc.file] };
}

function expectNothingAt(path: string): void {
  expect(existsSync(path)).toBe(false);
  const parent = resolve(path, '..');
  expect(readdirSync(parent).filter((n) => n.includes('pagevault-restore'))).toEqual([]);
}

describe('bad input gives a clear error with a stable code and leaves data untouched', () => {
  it('a flipped byte in a chain file', async () => {
    const { chain, files } = await chainOf();
    const file = join(chain, files[1]);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x40;
    writeFileSync(file, bytes);
    const to = join(tmp.dir, 'out');
    await expect(restoreSnapshot({ from: chain, to })).rejects.toMatchObject({ code: ErrorCodes.BACKUP_CORRUPT });
    expectNothingAt(to);
    await expect(verifyChain({ from: chain })).rejects.toMatchObject({ code: ErrorCodes.BACKUP_CORRUPT });
  });

  it('a truncated chain file', async () => {
    const { chain, files } = await chainOf();
    const file = join(chain, files[0]);
    truncateSync(file, statSync(file).size - 100);
    const to = join(tmp.dir, 'out');
    await expect(restoreSnapshot({ from: chain, to })).rejects.toMatchObject({ code: ErrorCodes.BACKUP_TRUNCATED });
    expectNothingAt(to);
  });

  it('a missing file in the chain, and a file from another chain, fail before anything is written', async () => {
    const a = await chainOf();
    // Another chain of another database, with a file under the name chain A expects.
    const otherDb = join(tmp.dir, 'other');
    await generateDataset({ path: otherDb, docs: 500, seed: 'other', threads: 0 });
    const other = await backupSnapshot({ db: otherDb, destination: join(tmp.dir, 'dest2'), name: 'db' });
    const victim = join(a.chain, a.files[1]);
    renameSync(victim, `${victim}.moved`);
    const to = join(tmp.dir, 'out');
    await expect(restoreSnapshot({ from: a.chain, to })).rejects.toMatchObject({ code: ErrorCodes.CHAIN_BROKEN });
    expectNothingAt(to);
    renameSync(`${victim}.moved`, victim);
    // Put the other chain's full where chain A's full is, padded to the size A's manifest records.
    const foreign = readFileSync(join(tmp.dir, 'dest2', other.chain, other.file));
    const recorded = statSync(join(a.chain, a.files[0])).size;
    const padded = Buffer.alloc(recorded);
    foreign.copy(padded, 0, 0, Math.min(foreign.length, recorded));
    writeFileSync(join(a.chain, a.files[0]), padded);
    await expect(restoreSnapshot({ from: a.chain, to })).rejects.toMatchObject({ code: expect.stringMatching(/CHAIN_MISMATCH|BACKUP_CORRUPT/) });
    expectNothingAt(to);
  });

  it('a wrong or missing key fails before any output', async () => {
    const db = join(tmp.dir, 'db');
    await generateDataset({ path: db, docs: 500, seed: 'keys', threads: 0 });
    const key = await generateKeyFile(join(tmp.dir, 'right.key'));
    const wrong = await generateKeyFile(join(tmp.dir, 'wrong.key'));
    const r = await backupSnapshot({ db, destination: join(tmp.dir, 'dest'), key });
    expect(r.file.endsWith('.encrypted')).toBe(true);
    const chain = join(tmp.dir, 'dest', r.chain);
    const to = join(tmp.dir, 'out');
    await expect(restoreSnapshot({ from: chain, to, key: wrong })).rejects.toMatchObject({ code: ErrorCodes.WRONG_KEY });
    expectNothingAt(to);
    await expect(restoreSnapshot({ from: chain, to })).rejects.toMatchObject({ code: ErrorCodes.KEY_REQUIRED });
    expectNothingAt(to);
    const ok = await restoreSnapshot({ from: chain, to, key: await loadKey({ file: join(tmp.dir, 'right.key') }) });
    expect((await digestEnv(ok.to)).digest).toBe((await digestEnv(db)).digest);
    // The key itself is nowhere in the backup.
    const material = readFileSync(join(tmp.dir, 'right.key'), 'utf8').trim();
    const fileBytes = readFileSync(join(chain, r.file));
    expect(fileBytes.includes(Buffer.from(material, 'base64'))).toBe(false);
    expect(fileBytes.includes(Buffer.from(material))).toBe(false);
  });

  it('restore onto existing data is refused and the data is untouched', async () => {
    const { chain } = await chainOf(500);
    const to = join(tmp.dir, 'existing');
    mkdirSync(to);
    writeFileSync(join(to, 'precious.txt'), 'keep');
    await expect(restoreSnapshot({ from: chain, to })).rejects.toMatchObject({ code: ErrorCodes.DESTINATION_NOT_EMPTY });
    expect(readdirSync(to)).toEqual(['precious.txt']);
    expect(readFileSync(join(to, 'precious.txt'), 'utf8')).toBe('keep');
  });

  it('an unreadable or missing source path', async () => {
    await expect(backupSnapshot({ db: join(tmp.dir, 'nope'), destination: join(tmp.dir, 'dest') })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    writeFileSync(join(tmp.dir, 'plain.txt'), 'not lmdb '.repeat(1000));
    await expect(backupSnapshot({ db: join(tmp.dir, 'plain.txt'), destination: join(tmp.dir, 'dest') })).rejects.toMatchObject({ code: ErrorCodes.NOT_LMDB });
    expect(existsSync(join(tmp.dir, 'dest'))).toBe(false);
  });

  it('a second concurrent backup of the same database gets BACKUP_RUNNING', async () => {
    const db = join(tmp.dir, 'db');
    await generateDataset({ path: db, docs: 200, seed: 'lock', threads: 0 });
    const lock = acquireBackupLock(join(db, 'data.mdb'), 'test holder');
    try {
      await expect(backupSnapshot({ db, destination: join(tmp.dir, 'dest') })).rejects.toMatchObject({ code: ErrorCodes.BACKUP_RUNNING, message: expect.stringMatching(/test holder/) });
    } finally {
      lock.release();
    }
    const r = await backupSnapshot({ db, destination: join(tmp.dir, 'dest') });
    expect(r.kind).toBe('full-snapshot');
  });

  it('a backup killed with SIGKILL halfway leaves no file that looks complete; the lock is free and the chain still restores', async () => {
    const { db, dest, chain } = await chainOf(20_000);
    const before = readdirSync(chain).sort();
    const manifest = readFileSync(join(chain, 'manifest.json'), 'utf8');
    // A full backup, uncompressed so it takes a moment: kill it as soon as its file is being written.
    const child = spawn(process.execPath, [BIN, 'backup', '--db', db, '--dest', dest, '--name', 'db', '--compression', 'none', '--quiet'], { stdio: 'ignore' });
    const target = (): string[] => readdirSync(dest).filter((n) => !n.startsWith('.'));
    const started = Date.now();
    let sawInProgress = false;
    while (!sawInProgress && Date.now() - started < 20_000) {
      sawInProgress = target().flatMap((c) => (existsSync(join(dest, c)) && statSync(join(dest, c)).isDirectory() ? readdirSync(join(dest, c)) : [])).some((n) => n.endsWith('.in-progress'));
      if (!sawInProgress) await new Promise((r) => setTimeout(r, 2));
    }
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    child.kill('SIGKILL');
    // The kill landed while the file was being written, not after the backup had finished.
    expect(sawInProgress).toBe(true);
    expect(await exited).toBe('SIGKILL');
    for (const c of target()) {
      const dir = join(dest, c);
      // Whatever is there is either complete and in a manifest, or named *.in-progress.
      const m = existsSync(join(dir, 'manifest.json')) ? JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) : { files: [] };
      for (const n of readdirSync(dir)) {
        if (n === 'manifest.json' || n.endsWith('.in-progress')) continue;
        expect(m.files.map((f: { name: string }) => f.name)).toContain(n);
      }
    }
    expect(readdirSync(chain).filter((n) => !n.endsWith('.in-progress')).sort()).toEqual(before);
    expect(readFileSync(join(chain, 'manifest.json'), 'utf8')).toBe(manifest);
    // The dead process's lock is gone with it: the next backup runs, and the old chain restores.
    const next = await backupSnapshot({ db, destination: dest, name: 'db', incremental: true });
    expect(next.kind).toBe('incremental-snapshot');
    const to = join(tmp.dir, 'out');
    await restoreSnapshot({ from: join(dest, next.chain), to });
    expect((await digestEnv(to)).digest).toBe((await digestEnv(db)).digest);
  });

  it('cancelling a backup through its AbortSignal leaves no file that looks complete and releases everything', async () => {
    const db = join(tmp.dir, 'db');
    await generateDataset({ path: db, docs: 20_000, seed: 'abort', threads: 0 });
    const dest = join(tmp.dir, 'dest');
    const controller = new AbortController();
    let batches = 0;
    const backup = backupSnapshot({
      db,
      destination: dest,
      compression: 'none',
      signal: controller.signal,
      onProgress: () => {
        if (++batches === 2) controller.abort();
      },
    });
    await expect(backup).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    for (const c of existsSync(dest) ? readdirSync(dest) : []) {
      // No manifest was written for the aborted first backup, and no finished file either.
      expect(readdirSync(join(dest, c)).filter((n) => !n.endsWith('.in-progress'))).toEqual([]);
    }
    // The lock and the pinned snapshot were released: the next backup runs and restores.
    const r = await backupSnapshot({ db, destination: dest });
    const restored = await restoreSnapshot({ from: join(dest, r.chain), to: join(tmp.dir, 'out') });
    expect(restored.txnId).toBe(r.txnId);
  });
});
