import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { backupSnapshot } from '../../src/backup/snapshot-backup.js';
import { restoreSnapshot } from '../../src/restore/snapshot-restore.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv();
const WRITER = resolve(__dirname, 'fixtures/transfer-writer.mjs');
const ACCOUNTS = 2000;

describe('online snapshot consistency', () => {
  it('every backup taken while a writer moves value between accounts restores to a committed state at its txn id', async () => {
    const dir = tmp.dir;
    const path = join(dir, 'db');
    const env = open({ path, maxDbs: 16 });
    const accounts = env.openDB('accounts', {});
    await env.transaction(() => {
      for (let i = 0; i < ACCOUNTS; i++) accounts.putSync(`acct/${i}`, { balance: 1000, owner: `owner ${i}` });
    });
    await env.close();
    const total = ACCOUNTS * 1000;

    const writer = spawn(process.execPath, [WRITER, path, String(ACCOUNTS), '6'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    writer.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => writer.on('exit', (code) => r(code)));
    await new Promise((r) => setTimeout(r, 500));

    const dest = join(dir, 'backups');
    const results = [];
    for (let i = 0; i < 6; i++) {
      results.push(await backupSnapshot({ db: path, destination: dest, incremental: i > 0, name: 'bank' }));
    }
    expect(await exited).toBe(0);
    expect(JSON.parse(out).transactions).toBeGreaterThan(100);
    // The writer committed between backups: the chain covers distinct points in time.
    expect(new Set(results.map((r) => r.txnId)).size).toBe(results.length);
    expect(results[0].kind).toBe('full-snapshot');
    expect(results.slice(1).every((r) => r.kind === 'incremental-snapshot')).toBe(true);

    for (const r of results) {
      const to = join(dir, `restored-${r.seq}`);
      const restored = await restoreSnapshot({ from: join(dest, r.chain), to, upto: r.txnId });
      expect(restored.txnId).toBe(r.txnId);
      const copy = open({ path: to, readOnly: true, maxDbs: 16 });
      try {
        expect((copy.getStats() as { lastTxnId: number }).lastTxnId).toBe(r.txnId);
        let sum = 0;
        let n = 0;
        for (const { value } of copy.openDB<{ balance: number }, string>('accounts', {}).getRange({})) {
          sum += value.balance;
          n++;
        }
        expect(n).toBe(ACCOUNTS);
        expect(sum).toBe(total);
      } finally {
        await copy.close();
      }
    }
  });

  it('backs up a database that the same process is writing through another lmdb-js handle (no deadlock)', async () => {
    const dir = tmp.dir;
    const distIndex = pathToFileURL(resolve(__dirname, '../../dist/src/index.js')).href;
    const child = spawnSync(process.execPath, [resolve(__dirname, 'fixtures/same-process.mjs'), distIndex, join(dir, 'db'), join(dir, 'dest')], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    const out = JSON.parse(child.stdout) as { backups: Array<{ kind: string; txnId: number; chain: string }>; writes: number };
    expect(out.writes).toBeGreaterThan(0);
    expect(out.backups.map((b) => b.kind)).toEqual(['full-snapshot', ...Array(4).fill('incremental-snapshot')]);
    const last = out.backups[4];
    const restored = await restoreSnapshot({ from: join(dir, 'dest', last.chain), to: join(dir, 'restored') });
    expect(restored.txnId).toBe(last.txnId);
  });
});
