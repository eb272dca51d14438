import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// These tests spawn the built CLI (bin/pagevault.js → dist/), as a user would run it.
const BIN = resolve(__dirname, '../../bin/pagevault.js');
let dir: string;

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pv-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pagevault CLI', () => {
  it('prints help for the tool and for every command, with exit codes and error codes', () => {
    const top = cli('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:/);
    expect(top.stdout).toMatch(/PAGEVAULT_ERR_NOT_FOUND/);
    for (const c of ['backup', 'restore', 'verify', 'export', 'import', 'list', 'serve', 'tasks', 'status', 'cancel', 'apikey', 'key', 'info', 'generate', 'load', 'demo']) {
      const h = cli(c, '--help');
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: pagevault ${c}`));
    }
    expect(cli().code).toBe(2);
  });

  it('rejects a bad command line with exit code 2 and one clear line', () => {
    const unknown = cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const missing = cli('generate', '--db', 'x');
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('pagevault generate: missing required option --docs; run `pagevault generate --help`');
    expect(cli('generate', '--db', 'x', '--docs', 'many').code).toBe(2);
    expect(cli('generate', '--db', 'x', '--docs', '10', '--profile', 'nope').code).toBe(2);
    expect(cli('info', '--db', 'x', '--bogus').code).toBe(2);
    expect(cli('info', '--db', 'x', 'stray').stderr).toMatch(/unexpected argument "stray"/);
    expect(cli('key', 'rotate', '--out', 'x').code).toBe(2);
  });

  it('generates, reports JSON, and refuses to generate over existing data (exit 1, stable code)', () => {
    const g = cli('generate', '--db', 'db', '--docs', '3k', '--seed', 'e2e', '--json', '--quiet');
    expect(g.code).toBe(0);
    const result = JSON.parse(g.stdout);
    expect(result).toMatchObject({ docs: 3000, seed: 'e2e', profile: 'default' });
    const again = cli('generate', '--db', 'db', '--docs', '10');
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/^pagevault: PAGEVAULT_ERR_DESTINATION_NOT_EMPTY: /);
    mkdirSync(join(dir, 'junk'));
    writeFileSync(join(dir, 'junk', 'file.txt'), 'keep me');
    const junk = cli('generate', '--db', 'junk', '--docs', '10');
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/PAGEVAULT_ERR_DESTINATION_NOT_EMPTY/);
  });

  it('shows environment info as text and JSON, and fails clearly on a missing or non-LMDB path', () => {
    const text = cli('info', '--db', 'db');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/lmdb-js data v2/);
    expect(text.stdout).toMatch(/3,000 live/);
    const json = JSON.parse(cli('info', '--db', 'db', '--json').stdout);
    expect(json.env.namedDatabases.map((d: { name: string }) => d.name)).toContain('@docs');
    expect(json.documents.documents).toBe(3000);
    const missing = cli('info', '--db', 'nowhere');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^pagevault: PAGEVAULT_ERR_NOT_FOUND: /);
    const notLmdb = cli('info', '--db', 'junk/file.txt');
    expect(notLmdb.code).toBe(1);
    expect(notLmdb.stderr).toMatch(/PAGEVAULT_ERR_NOT_LMDB|PAGEVAULT_ERR_CORRUPT_ENV/);
  });

  it('runs a load and reports what it committed', () => {
    const r = cli('load', '--db', 'db', '--writes-per-sec', '500', '--duration', '0.5', '--json', '--quiet');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.writes).toBe(result.inserts + result.updates + result.deletes);
    expect(result.lastEtag - result.firstEtag).toBe(result.writes);
  });

  it('runs the demo (what npm start does), twice: create once, then reuse', () => {
    const first = cli('demo', '--dir', 'demo', '--docs', '2000');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/creating the demo database/);
    expect(first.stdout).toMatch(/full-snapshot of txn \d+/);
    expect(first.stdout).toMatch(/incremental-snapshot of txn \d+/);
    expect(first.stdout).toMatch(/identical to the source/);
    expect(first.stdout).toMatch(/2 file\(s\) verified/);
    const second = cli('demo', '--dir', 'demo');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/using the existing demo database/);
  });

  it('backs up, backs up incrementally, verifies and restores through the CLI, with an encryption key', () => {
    expect(cli('key', 'generate', '--out', 'k.key').code).toBe(0);
    expect(cli('key', 'generate', '--out', 'k.key').stderr).toMatch(/PAGEVAULT_ERR_DESTINATION_NOT_EMPTY/);
    const full = JSON.parse(cli('backup', '--db', 'db', '--dest', 'bk', '--key-file', 'k.key', '--json', '--quiet').stdout);
    expect(full).toMatchObject({ kind: 'full-snapshot', encrypted: true, compression: 'zstd' });
    expect(cli('load', '--db', 'db', '--writes-per-sec', '0', '--duration', '0.3', '--quiet').code).toBe(0);
    const inc = JSON.parse(cli('backup', '--db', 'db', '--dest', 'bk', '--key-file', 'k.key', '--incremental', '--json', '--quiet').stdout);
    expect(inc).toMatchObject({ kind: 'incremental-snapshot', baseTxnId: full.txnId, chain: full.chain });
    const chain = join('bk', full.chain);
    const verified = cli('verify', chain, '--deep', '--key-file', 'k.key');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/deep: restored txn/);
    expect(cli('verify', chain).stderr).toMatch(/^pagevault: PAGEVAULT_ERR_KEY_REQUIRED: /);
    const upto = JSON.parse(cli('restore', '--from', chain, '--to', 'r1', '--upto', String(full.txnId), '--key-file', 'k.key', '--json', '--quiet').stdout);
    expect(upto).toMatchObject({ txnId: full.txnId, files: [full.file] });
    const all = JSON.parse(cli('restore', '--from', chain, '--to', 'r2', '--key-file', 'k.key', '--json', '--quiet').stdout);
    expect(all.txnId).toBe(inc.txnId);
    const again = cli('restore', '--from', chain, '--to', 'r2', '--key-file', 'k.key');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/PAGEVAULT_ERR_DESTINATION_NOT_EMPTY/);
    expect(JSON.parse(cli('info', '--db', 'r2', '--json').stdout).env.lastTxnId).toBe(inc.txnId);
  });

  it('takes JSON backups (full, incremental), verifies and restores them, with indexes rebuilt', () => {
    const full = JSON.parse(cli('backup', '--db', 'db', '--dest', 'jbk', '--type', 'backup', '--key-file', 'k.key', '--json', '--quiet').stdout);
    expect(full).toMatchObject({ kind: 'full-backup', encrypted: true, docs: expect.any(Number) });
    expect(full.chain).toMatch(/\.db\.backup$/);
    expect(cli('load', '--db', 'db', '--writes-per-sec', '0', '--duration', '0.3', '--quiet').code).toBe(0);
    const inc = JSON.parse(cli('backup', '--db', 'db', '--dest', 'jbk', '--type', 'backup', '--incremental', '--key-file', 'k.key', '--json', '--quiet').stdout);
    expect(inc).toMatchObject({ kind: 'incremental-backup', chain: full.chain, baseEtag: full.lastEtag });
    expect(inc.lastEtag).toBeGreaterThan(full.lastEtag);
    const chain = join('jbk', full.chain);
    const listed = JSON.parse(cli('list', '--dest', 'jbk', '--json').stdout);
    expect(listed.chains).toEqual([expect.objectContaining({ chain: full.chain, type: 'backup', encrypted: true, files: [expect.objectContaining({ name: full.file, kind: 'full-backup' }), expect.objectContaining({ name: inc.file, kind: 'incremental-backup', lastEtag: inc.lastEtag })] })]);
    const verified = cli('verify', chain, '--deep', '--key-file', 'k.key');
    expect(verified.code).toBe(0);
    const restored = JSON.parse(cli('restore', '--from', chain, '--to', 'jr', '--key-file', 'k.key', '--json', '--quiet').stdout);
    expect(restored).toMatchObject({ kind: 'docdb', lastEtag: inc.lastEtag, files: [full.file, inc.file] });
    expect(restored.indexEntries).toBeGreaterThan(0);
    const src = JSON.parse(cli('info', '--db', 'db', '--json').stdout);
    const dst = JSON.parse(cli('info', '--db', 'jr', '--json').stdout);
    const logical = (d: Record<string, unknown>) => ({ ...d, databaseId: undefined, fileBytes: undefined });
    expect(logical(dst.documents)).toEqual(logical(src.documents));
  });

  it('exports to a pipe and imports from one; a truncated export is refused with the record number', () => {
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" export --db db | "${process.execPath}" "${BIN}" import --db copy --quiet`], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(piped.status).toBe(0);
    expect(piped.stderr).toMatch(/exported etag \d+: /);
    expect(piped.stdout).toMatch(/imported into .*copy: /);
    const logical = (d: Record<string, unknown>) => ({ ...d, databaseId: undefined, fileBytes: undefined });
    expect(logical(JSON.parse(cli('info', '--db', 'copy', '--json').stdout).documents)).toEqual(logical(JSON.parse(cli('info', '--db', 'db', '--json').stdout).documents));
    expect(cli('export', '--db', 'db', '--out', 'db.ndjson').code).toBe(0);
    const cut = spawnSync('sh', ['-c', `head -c 20000 db.ndjson | "${process.execPath}" "${BIN}" import --db cut`], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(cut.status).toBe(1);
    expect(cut.stderr).toMatch(/^pagevault: PAGEVAULT_ERR_INVALID_RECORD: record \d+: /);
    expect(cli('info', '--db', 'cut').code).toBe(1);
  });
});
