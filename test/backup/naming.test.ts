import { describe, expect, it } from 'vitest';
import { backupFileName, chainFolderName, parseChainFolderName, parseUtcStamp, safeDatabaseName, utcStamp } from '../../src/backup/naming.js';
import { checkChainOrder, parseManifest, serializeManifest, type ChainManifest } from '../../src/backup/manifest.js';
import { ErrorCodes } from '../../src/errors.js';

describe('chain and file names', () => {
  const t = new Date(Date.UTC(2026, 10, 25, 9, 1, 2, 3));
  it('are UTC, sortable, filesystem-safe and say what they are', () => {
    expect(utcStamp(t)).toBe('2026-11-25T09-01-02.003Z');
    expect(parseUtcStamp(utcStamp(t))?.getTime()).toBe(t.getTime());
    expect(chainFolderName(t, 'my db/1', 'snapshot')).toBe('2026-11-25T09-01-02.003Z.my-db-1.snapshot');
    expect(backupFileName(t, 'full-snapshot', false)).toBe('2026-11-25T09-01-02.003Z.full-snapshot');
    expect(backupFileName(t, 'incremental-snapshot', true)).toBe('2026-11-25T09-01-02.003Z.incremental-snapshot.encrypted');
    expect(parseChainFolderName('2026-11-25T09-01-02.003Z.demo.snapshot')).toEqual({ started: t, database: 'demo', type: 'snapshot' });
    expect(parseChainFolderName('notes.txt')).toBeUndefined();
    const later = new Date(t.getTime() + 1);
    expect(utcStamp(t) < utcStamp(later)).toBe(true);
    expect(() => safeDatabaseName('///')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });
});

function manifest(files: Array<[string, number, number]>): ChainManifest {
  return {
    format: 'pagevault-chain', version: 1, chainId: 'c', type: 'snapshot',
    database: { name: 'db', path: '/x', dev: 1, ino: 2 }, pageSize: 4096,
    lmdbFormat: { dataVersion: 2, pageHeaderSize: 24 }, encrypted: false, keyId: null, compression: 'zstd', created: 'now',
    files: files.map(([kind, base, txn], seq) => ({ name: `f${seq}`, kind: kind as never, seq, baseTxnId: base, txnId: txn, lastPage: 9, size: 1, sha256: 'x', created: 'now', pages: 1, plaintextBytes: 1 })),
  };
}

describe('chain manifest', () => {
  it('round-trips and accepts a full followed by incrementals that follow each other', () => {
    const m = manifest([['full-snapshot', 0, 10], ['incremental-snapshot', 10, 15], ['incremental-snapshot', 15, 40]]);
    expect(parseManifest(serializeManifest(m), 'm')).toEqual(m);
  });
  it('rejects gaps, misplaced kinds, bad JSON and unknown versions with stable codes', () => {
    expect(() => checkChainOrder(manifest([['full-snapshot', 0, 10], ['incremental-snapshot', 11, 15]]), 'm')).toThrow(expect.objectContaining({ code: ErrorCodes.CHAIN_MISMATCH }));
    expect(() => checkChainOrder(manifest([['incremental-snapshot', 0, 10]]), 'm')).toThrow(expect.objectContaining({ code: ErrorCodes.CHAIN_MISMATCH }));
    expect(() => checkChainOrder(manifest([['full-snapshot', 0, 10], ['full-snapshot', 0, 12]]), 'm')).toThrow(expect.objectContaining({ code: ErrorCodes.CHAIN_MISMATCH }));
    expect(() => parseManifest('{nope', 'm')).toThrow(expect.objectContaining({ code: ErrorCodes.CHAIN_BROKEN }));
    expect(() => parseManifest(JSON.stringify({ ...manifest([]), version: 9 }), 'm')).toThrow(expect.objectContaining({ code: ErrorCodes.UNSUPPORTED_BACKUP }));
  });
});

describe('library verbs', () => {
  it('backup/restore/verify cover both types; a missing database or chain is a clear error', async () => {
    const api = await import('../../src/index.js');
    expect(typeof api.backup).toBe('function');
    await expect(api.backup({ type: 'backup', db: '/nowhere/at/all', destination: '/tmp/x' })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(api.backup({ db: '/nowhere/at/all', destination: '/tmp/x' })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(api.restore({ from: '/nowhere/at/all.backup', to: '/tmp/x-restore' })).rejects.toMatchObject({ code: ErrorCodes.CHAIN_BROKEN });
  });
});
