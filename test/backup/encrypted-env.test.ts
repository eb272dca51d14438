/**
 * Snapshot chains of an environment lmdb-js encrypts (`encryptionKey`): a full copies the
 * encrypted pages without the key; incrementals walk the trees, decrypting them with the
 * database's key (`dbKey`), and ship only the pages written since (still encrypted). A chain
 * of a full and several incrementals — big values on overflow pages, dupSort data, a named
 * database created and one dropped — restores to the source, read back with the key. No
 * key: the incremental is refused (PAGEVAULT_ERR_INCREMENTAL_UNAVAILABLE); a wrong key:
 * PAGEVAULT_ERR_WRONG_KEY; opening it by path without the key: PAGEVAULT_ERR_KEY_REQUIRED;
 * and the key never appears in a backup file or manifest.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { backupSnapshot, restoreSnapshot } from '../../src/index.js';
import { ErrorCodes } from '../../src/errors.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { digestStores } from '../helpers/store-digest.js';

const ctx = useTmpEnv();
const BIN = resolve(__dirname, '../../bin/pagevault.js');
const KEY = 'pagevault-enc-test-key-0123456789'.slice(0, 32);
const NAMES = ['plain', 'dups', 'later'];

/** digest: every (key, value) of the root store and the named databases that exist, as raw bytes. */
const digest = (env: RootDatabase): Record<string, string> => digestStores(env, NAMES, ['dups']);

async function change(env: RootDatabase, round: number): Promise<void> {
  const plain = env.openDB<string, string>({ name: 'plain' });
  const dups = env.openDB<number, string>({ name: 'dups', dupSort: true });
  await env.transaction(() => {
    for (let i = 0; i < 300; i++) plain.putSync(`k${(i * 7 + round * 13) % 2000}`, `v${round}-${i}`.repeat(5));
    for (let i = 0; i < 50; i++) dups.putSync(`d${i % 10}`, round * 100 + i);
    // A value on overflow pages, rewritten each round.
    env.putSync(`big${round % 3}`, 'x'.repeat(20_000 + round));
    if (round === 2) env.openDB({ name: 'later' }).putSync('born', 'in round 2');
  });
}

describe('snapshot chains of an lmdb-js-encrypted environment', () => {
  it('full + incrementals with the database key restore to the source; without it, or with a wrong one, clear errors', async () => {
    const root = ctx.open({ encryptionKey: KEY, maxDbs: 10 });
    const dest = join(ctx.dir, 'backups');
    await root.transaction(() => {
      for (let i = 0; i < 20_000; i++) root.putSync(`seed${i}`, `value ${i} `.repeat(8));
    });
    await change(root, 0);

    const full = await backupSnapshot({ db: root, destination: dest });
    expect(full.kind).toBe('full-snapshot');

    // No key: the incremental is refused, and the chain is left as it was.
    await change(root, 1);
    await expect(backupSnapshot({ db: root, destination: dest, incremental: true })).rejects.toMatchObject({ code: ErrorCodes.INCREMENTAL_UNAVAILABLE });
    // A wrong key (32 characters, not the database's) does not decrypt the trees.
    await expect(backupSnapshot({ db: root, destination: dest, incremental: true, dbKey: 'w'.repeat(32) })).rejects.toMatchObject({ code: ErrorCodes.WRONG_KEY });
    const manifest = (): { files: Array<{ name: string; kind: string; pages: number }> } => JSON.parse(readFileSync(join(dest, full.chain, 'manifest.json'), 'utf8'));
    expect(manifest().files).toHaveLength(1);

    const incs = [];
    for (let round = 1; round <= 4; round++) {
      if (round > 1) await change(root, round);
      const inc = await backupSnapshot({ db: root, destination: dest, incremental: true, dbKey: KEY });
      expect(inc).toMatchObject({ kind: 'incremental-snapshot', chain: full.chain, encrypted: false });
      // Only what changed: a small part of the pages.
      expect(inc.pages).toBeLessThan(full.pages / 4);
      incs.push(inc);
    }
    // Drop a named database, then one more incremental.
    await root.openDB({ name: 'later' }).drop();
    const last = await backupSnapshot({ db: root, destination: dest, incremental: true, dbKey: KEY });
    expect(manifest().files.map((f) => f.kind)).toEqual(['full-snapshot', ...Array(5).fill('incremental-snapshot')]);

    const expected = digest(root);
    const to = join(ctx.dir, 'restored');
    const r = await restoreSnapshot({ from: join(dest, full.chain), to });
    expect(r.txnId).toBe(last.txnId);
    const copy = open({ path: to, encryptionKey: KEY, maxDbs: 10, readOnly: true });
    try {
      expect(digest(copy)).toEqual(expected);
      expect(expected.later).toBeUndefined();
    } finally {
      await copy.close();
    }

    // A point in the middle of the chain restores too (its own state is checked by the txn id).
    const mid = await restoreSnapshot({ from: join(dest, full.chain), to: join(ctx.dir, 'mid'), upto: incs[1].txnId });
    expect(mid.txnId).toBe(incs[1].txnId);

    // The database key is never written into the backup.
    for (const f of readdirSync(join(dest, full.chain))) expect(readFileSync(join(dest, full.chain, f)).includes(Buffer.from(KEY))).toBe(false);
  });

  it('by path: the key is needed to open it; with it, full and incremental work', async () => {
    const path = join(ctx.dir, 'env');
    const root = ctx.open({ encryptionKey: KEY, maxDbs: 10 });
    await change(root, 0);
    await root.close();
    const dest = join(ctx.dir, 'backups');
    await expect(backupSnapshot({ db: path, destination: dest })).rejects.toMatchObject({ code: ErrorCodes.KEY_REQUIRED });
    const full = await backupSnapshot({ db: path, destination: dest, dbKey: KEY });
    const writer = open({ path, encryptionKey: KEY, maxDbs: 10 });
    await change(writer, 1);
    await writer.close();
    const inc = await backupSnapshot({ db: path, destination: dest, dbKey: KEY, incremental: true });
    expect(inc).toMatchObject({ kind: 'incremental-snapshot', chain: full.chain });

    // The CLI: --db-key-env names the variable holding the key; without it the incremental is refused.
    const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, [BIN, 'backup', '--db', path, '--dest', dest, '--incremental', '--json', '--quiet', ...args], { encoding: 'utf8', env: { ...process.env, PV_DB_KEY: KEY } });
    const refused = cli();
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/PAGEVAULT_ERR_KEY_REQUIRED/);
    const ok = cli('--db-key-env', 'PV_DB_KEY');
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'incremental-snapshot', chain: full.chain });
  });
});
