import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DocumentDatabase } from '../../src/docdb/database.js';
import { ErrorCodes } from '../../src/errors.js';

let dir: string;
let db: DocumentDatabase;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pv-docdb-'));
  db = openDatabase(join(dir, 'db'));
});

afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('document database', () => {
  it('stores documents with increasing etags and identity ids', async () => {
    const a = await db.put('Users', null, { name: 'Ann', email: 'ann@example.com' });
    const b = await db.put('Users', null, { name: 'Bob', email: 'bob@example.com' });
    const c = await db.put('Orders', 'orders/custom', { total: 5 });
    expect(a).toEqual({ id: 'users/1-A', etag: 1 });
    expect(b).toEqual({ id: 'users/2-A', etag: 2 });
    expect(c).toEqual({ id: 'orders/custom', etag: 3 });
    expect(db.get('users/2-A')).toMatchObject({ id: 'users/2-A', collection: 'Users', etag: 2, body: { name: 'Bob' } });
    const again = await db.put('Users', 'users/1-A', { name: 'Ann B', email: 'ann@example.com' });
    expect(again.etag).toBe(4);
    expect([...db.documentsSince(2)].map((d) => [d.id, d.etag])).toEqual([
      ['orders/custom', 3],
      ['users/1-A', 4],
    ]);
    expect(db.lastEtag).toBe(4);
  });

  it('leaves tombstones on delete and carries them in etag order', async () => {
    await db.put('Users', 'users/1-A', { name: 'Ann' });
    await db.put('Users', 'users/2-A', { name: 'Bob' });
    expect(await db.delete('users/1-A')).toBe(true);
    expect(await db.delete('users/1-A')).toBe(false);
    expect(db.get('users/1-A')).toBeUndefined();
    const tombs = [...db.tombstonesSince(0)];
    expect(tombs).toHaveLength(1);
    expect(tombs[0]).toMatchObject({ etag: 3, id: 'users/1-A', collection: 'Users', deletedEtag: 1 });
    expect([...db.documentsSince(0)].map((d) => d.id)).toEqual(['users/2-A']);
    expect(() => db.getOrThrow('users/1-A')).toThrow(expect.objectContaining({ code: ErrorCodes.DOCUMENT_NOT_FOUND }));
  });

  it('maintains indexes in the write transaction and answers equality and range queries', async () => {
    await db.defineIndex({ name: 'Users.byCity', collection: 'Users', fields: ['address.city'] });
    await db.defineIndex({ name: 'Users.byAge', collection: 'Users', fields: ['age'] });
    await db.defineIndex({ name: 'Users.byTag', collection: 'Users', fields: ['tags'] });
    for (let i = 1; i <= 30; i++) {
      await db.put('Users', null, { age: i, address: { city: i % 3 === 0 ? 'Oslo' : 'Rome' }, tags: i % 2 ? ['odd', 'x'] : ['even'] });
    }
    const oslo = db.query('Users.byCity', { equals: 'Oslo' }).map((d) => d.body.age as number);
    expect(oslo.sort((a, b) => a - b)).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    expect(db.query('Users.byAge', { gte: 10, lt: 13 }).map((d) => d.body.age)).toEqual([10, 11, 12]);
    expect(db.query('Users.byAge', { gt: 28 }).map((d) => d.body.age)).toEqual([29, 30]);
    expect(db.query('Users.byTag', { equals: 'odd' })).toHaveLength(15);
    // An update moves the document between keys; a delete removes it.
    await db.put('Users', 'users/3-A', { age: 3, address: { city: 'Rome' }, tags: [] });
    expect(db.query('Users.byCity', { equals: 'Oslo' })).toHaveLength(9);
    await db.delete('users/6-A');
    expect(db.query('Users.byCity', { equals: 'Oslo' })).toHaveLength(8);
    expect(db.query('Users.byTag', { equals: 'odd' })).toHaveLength(14);
  });

  it('rebuildIndex reproduces the index data exactly', async () => {
    await db.defineIndex({ name: 'Users.byAge', collection: 'Users', fields: ['age'] });
    for (let i = 0; i < 50; i++) await db.put('Users', null, { age: i % 7 });
    const idx = db.indexDb(db.listIndexes()[0]);
    const before = [...idx.getRange({})].map((e) => [e.key, e.value]);
    // Corrupt the index data behind the database's back, then rebuild it.
    await idx.clearAsync();
    expect([...idx.getRange({})]).toHaveLength(0);
    const { entries } = await db.rebuildIndex('Users.byAge');
    expect(entries).toBe(50);
    expect([...idx.getRange({})].map((e) => [e.key, e.value])).toEqual(before);
  });

  it('enforces unique indexes without writing anything on violation', async () => {
    await db.defineIndex({ name: 'Users.byEmail', collection: 'Users', fields: ['email'], unique: true });
    await db.put('Users', 'users/1-A', { email: 'a@x' });
    const etag = db.lastEtag;
    await expect(db.put('Users', 'users/2-A', { email: 'a@x' })).rejects.toMatchObject({ code: ErrorCodes.UNIQUE_VIOLATION });
    expect(db.get('users/2-A')).toBeUndefined();
    expect(db.lastEtag).toBe(etag);
    // Re-storing the owner with the same key is fine.
    await db.put('Users', 'users/1-A', { email: 'a@x', n: 2 });
    expect(db.query('Users.byEmail', { equals: 'a@x' }).map((d) => d.id)).toEqual(['users/1-A']);
  });

  it('rejects a conflicting index definition and unknown index names', async () => {
    await db.defineIndex({ name: 'I', collection: 'Users', fields: ['a'] });
    await db.defineIndex({ name: 'I', collection: 'Users', fields: ['a'] });
    await expect(db.defineIndex({ name: 'I', collection: 'Users', fields: ['b'] })).rejects.toMatchObject({ code: ErrorCodes.INDEX_EXISTS });
    expect(() => db.query('nope', { equals: 1 })).toThrow(expect.objectContaining({ code: ErrorCodes.INDEX_NOT_FOUND }));
    await expect(db.rebuildIndex('nope')).rejects.toMatchObject({ code: ErrorCodes.INDEX_NOT_FOUND });
    await db.dropIndex('I');
    expect(db.listIndexes()).toEqual([]);
  });

  it('hands out identities atomically', async () => {
    const got = await Promise.all(Array.from({ length: 20 }, () => db.nextIdentity('Orders')));
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('refuses an lmdb-js environment that is not a document database and leaves it untouched', async () => {
    const other = join(dir, 'other');
    const env = open({ path: other });
    await env.put('k', 'v');
    await env.close();
    expect(() => openDatabase(other)).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_A_DOCUMENT_DB }));
    const env2 = open({ path: other });
    expect(env2.get('k')).toBe('v');
    await env2.close();
    expect(() => openDatabase(join(dir, 'missing'), { create: false })).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_A_DOCUMENT_DB }));
  });

  it('reports statistics', async () => {
    await db.defineIndex({ name: 'Users.byAge', collection: 'Users', fields: ['age'] });
    await db.put('Users', null, { age: 1 });
    await db.put('Orders', null, { x: 1 });
    await db.delete('orders/1-A');
    const s = db.stats();
    expect(s).toMatchObject({ documents: 1, tombstones: 1, lastEtag: 3, identities: { Users: 1, Orders: 1 } });
    expect(db.collectionCounts()).toEqual({ Users: 1 });
    expect(s.indexes).toEqual([{ name: 'Users.byAge', collection: 'Users', fields: ['age'], unique: false, entries: 1 }]);
    expect(s.databaseId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
