// envInfo against real lmdb-js environments (lmdb-js itself is the oracle), synthetic files for layouts lmdb-js
// cannot write, and damaged copies for the error paths. Damaged files are always copies: no test corrupts a file
// that an LMDB library has open.
import {
  closeSync,
  copyFileSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';

import type { Database, RootDatabase } from 'lmdb';
import { describe, expect, it } from 'vitest';

import {
  CorruptEnvError,
  ErrorCodes,
  InvalidArgumentError,
  IoError,
  NotFoundError,
  NotLmdbError,
  UnsupportedFormatError,
  isPagevaultError,
} from '../../src/errors.js';
import { envInfo, type DatabaseStats, type EnvInfo } from '../../src/snapshot/env-info.js';
import { buildSyntheticDataFile, syntheticLayout } from '../helpers/synthetic-env.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();

/** LmdbStats: the fields of lmdb-js 3.5.6 `getStats()` we compare (read.js getStats, src/env.cpp stat/info). */
interface TreeStats {
  pageSize: number;
  treeDepth: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  entryCount: number;
  overflowPages: number;
}
interface LmdbStats extends TreeStats {
  root: TreeStats;
  mapSize: number;
  lastPageNumber: number;
  lastTxnId: number;
}

function statsOf(db: Database): LmdbStats {
  return db.getStats() as LmdbStats;
}

const NAMED_DB_COUNT = 300;
const UNICODE_NAME = 'données-🚀';

interface Created {
  name: string;
  db: Database;
  dupSort: boolean;
  uint32: boolean;
}

/**
 * buildRichEnv: 300 named databases (plain, dupSort with sub-pages and a sub-database, uint32 keys, multi-level
 * trees and overflow values) plus root-store entries including a big value, so the main tree has branch pages and
 * an F_BIGDATA node.
 */
async function buildRichEnv(root: RootDatabase): Promise<Created[]> {
  const created: Created[] = [];
  for (let i = 0; i < NAMED_DB_COUNT; i++) {
    const name = i === 7 ? UNICODE_NAME : `db-${String(i).padStart(3, '0')}`;
    const dupSort = i % 3 === 0;
    const uint32 = i % 3 === 1;
    const db = root.openDB({
      name,
      ...(dupSort ? { dupSort: true, encoding: 'ordered-binary' as const } : {}),
      ...(uint32 ? { keyEncoding: 'uint32' as const } : {}),
    });
    created.push({ name, db, dupSort, uint32 });
  }
  await root.transaction(() => {
    for (const [i, entry] of created.entries()) {
      if (entry.dupSort) {
        for (let v = 0; v < 3; v++) entry.db.put('k', `value-${v}`); // a sub-page
        if (i === 0) {
          for (let v = 0; v < 2000; v++) entry.db.put('many', `dup-${String(v).padStart(5, '0')}`); // a sub-DB
        }
      } else if (entry.uint32) {
        const count = i === 1 ? 5000 : 3; // db-001 gets a multi-level tree
        for (let k = 0; k < count; k++) entry.db.put(k, { k, text: `uint32 key ${k}` });
      } else {
        entry.db.put('small', 'value');
        if (i === 2) entry.db.put('big', 'x'.repeat(50_000)); // overflow pages
      }
    }
    for (let k = 0; k < 50; k++) root.put(`root-${k}`, { k });
    root.put('root-big', 'y'.repeat(20_000)); // an F_BIGDATA node in the main tree itself
  });
  return created;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function readMetaEnvFlags(dataPath: string, info: EnvInfo): number {
  const bytes = readFileSync(dataPath);
  const metaAt = info.metaSlot * info.pageSize + info.format.pageHeaderSize;
  return bytes.readUInt16LE(metaAt + 24 + 4);
}

type TreeCounts = Pick<DatabaseStats, 'depth' | 'branchPages' | 'leafPages' | 'entries' | 'overflowPages'>;

function expectTreeStats(actual: TreeCounts, expected: TreeStats): void {
  expect({
    depth: actual.depth,
    branchPages: actual.branchPages,
    leafPages: actual.leafPages,
    entries: actual.entries,
    overflowPages: actual.overflowPages,
  }).toEqual({
    depth: expected.treeDepth,
    branchPages: expected.treeBranchPageCount,
    leafPages: expected.treeLeafPageCount,
    entries: expected.entryCount,
    overflowPages: expected.overflowPages,
  });
}

async function expectRejection<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
  code: string,
  message?: RegExp,
): Promise<T> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${code}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  expect(isPagevaultError(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  if (message) expect((err as Error).message).toMatch(message);
  return err as T;
}

describe('envInfo on lmdb-js environments', () => {
  it('reports every field as lmdb-js does, and all named databases', async () => {
    const root = ctx.open({ maxDbs: NAMED_DB_COUNT + 10 });
    const created = await buildRichEnv(root);
    const envDir = join(ctx.dir, 'env');
    const dataPath = join(envDir, 'data.mdb');

    const stats = statsOf(root);
    const info = await envInfo(envDir);

    expect(info.dataPath).toBe(dataPath);
    expect(info.format).toEqual({ dataVersion: 2, pageHeaderSize: 24, description: 'lmdb-js data v2' });
    expect(info.pageSize).toBe(stats.pageSize);
    expect(info.mapSize).toBe(stats.mapSize);
    expect(info.lastPage).toBe(stats.lastPageNumber);
    expect(info.lastTxnId).toBe(stats.lastTxnId);
    expect(info.metaSlot).toBe(info.lastTxnId % 2); // LMDB writes txn N's meta into slot N % 2
    expect(info.fileSize).toBe(statSync(dataPath).size);
    expect(info.encrypted).toBe(false);
    expect(info.envFlags).toBe(readMetaEnvFlags(dataPath, info));
    expect(info.envFlags & 0x4000).toBe(0); // not noSubdir
    expectTreeStats(info.mainDb, stats.root);
    expect(info.mainDb.entries).toBe(NAMED_DB_COUNT + 51);
    expect(info.mainDb.depth).toBeGreaterThanOrEqual(2);
    expect(info.mainDb.branchPages).toBeGreaterThanOrEqual(1);
    expect(info.mainDb.rootPage).not.toBeNull();

    expect(info.namedDatabaseCount).toBe(NAMED_DB_COUNT);
    const names = created.map((c) => c.name).sort(byteOrder);
    expect(info.namedDatabases?.map((db) => db.name)).toEqual(names);
    expect(info.namedDatabases?.map((db) => db.name)).toContain(UNICODE_NAME);

    const byName = new Map(info.namedDatabases?.map((db) => [db.name, db]));
    for (const entry of created) {
      const named = byName.get(entry.name);
      expect(named, entry.name).toBeDefined();
      if (!named) continue;
      expectTreeStats(named, statsOf(entry.db));
      expect(named.flags & 0x04, `${entry.name} dupSort flag`).toBe(entry.dupSort ? 0x04 : 0);
      expect(named.flags & 0x08, `${entry.name} integer-key flag`).toBe(entry.uint32 ? 0x08 : 0);
      expect(named.rootPage).not.toBeNull();
      expect(named.rootPage ?? 0).toBeLessThanOrEqual(info.lastPage);
    }
    // The shapes the fixture is meant to contain really are there.
    expect(byName.get('db-001')?.depth).toBeGreaterThanOrEqual(2);
    expect(byName.get('db-002')?.overflowPages).toBeGreaterThan(0);
    expect(byName.get('db-000')?.entries).toBe(2003);
  });

  it('accepts the data file path as well as the directory', async () => {
    const root = ctx.open();
    const db = root.openDB({ name: 'only' });
    await db.put('a', 1);
    const fromDir = await envInfo(join(ctx.dir, 'env'));
    const fromFile = await envInfo(join(ctx.dir, 'env', 'data.mdb'));
    expect(fromFile).toEqual(fromDir);
  });

  it('follows later commits and dropped databases', async () => {
    const root = ctx.open({ maxDbs: 20 });
    const a = root.openDB({ name: 'a' });
    const b = root.openDB({ name: 'b' });
    await a.put('x', 1);
    await b.put('y', 2);
    const before = await envInfo(join(ctx.dir, 'env'));
    expect(before.namedDatabases?.map((db) => db.name)).toEqual(['a', 'b']);

    await b.drop();
    for (let i = 0; i < 100; i++) await a.put(`k${i}`, i);
    const after = await envInfo(join(ctx.dir, 'env'));
    const stats = statsOf(root);
    expect(after.lastTxnId).toBe(stats.lastTxnId);
    expect(after.lastTxnId).toBeGreaterThan(before.lastTxnId);
    expect(after.lastPage).toBe(stats.lastPageNumber);
    expect(after.namedDatabases?.map((db) => db.name)).toEqual(['a']);
    expect(after.namedDatabases?.[0]?.entries).toBe(101);
  });

  it('reads a noSubdir environment from its data file', async () => {
    const root = ctx.open({ path: 'app.mdb', maxDbs: 5 });
    const db = root.openDB({ name: 'things' });
    await db.put('t', 'thing');
    const dataPath = join(ctx.dir, 'app.mdb');
    const info = await envInfo(dataPath);
    const stats = statsOf(root);
    expect(info.dataPath).toBe(dataPath);
    expect(info.envFlags & 0x4000).toBe(0x4000); // MDB_NOSUBDIR is kept in the meta
    expect(info.pageSize).toBe(stats.pageSize);
    expect(info.lastPage).toBe(stats.lastPageNumber);
    expect(info.lastTxnId).toBe(stats.lastTxnId);
    expect(info.mapSize).toBe(stats.mapSize);
    expect(info.namedDatabases?.map((d) => d.name)).toEqual(['things']);
    expectTreeStats(info.mainDb, stats.root);
    // The directory holding it is not an env directory.
    await expectRejection(envInfo(ctx.dir), NotFoundError, ErrorCodes.NOT_FOUND, /data\.mdb/);
  });

  it('reads an environment with 8 KiB pages', async () => {
    const root = ctx.open({ pageSize: 8192, maxDbs: 5 });
    const db = root.openDB({ name: 'wide', keyEncoding: 'uint32' });
    await db.transaction(() => {
      for (let k = 0; k < 3000; k++) db.put(k, `value ${k}`);
    });
    const info = await envInfo(join(ctx.dir, 'env'));
    const stats = statsOf(root);
    expect(info.pageSize).toBe(8192);
    expect(info.pageSize).toBe(stats.pageSize);
    expect(info.lastPage).toBe(stats.lastPageNumber);
    expect(info.lastTxnId).toBe(stats.lastTxnId);
    expect(info.fileSize % 8192).toBe(0);
    expect(info.namedDatabases).toHaveLength(1);
    const wide = info.namedDatabases?.[0];
    expect((wide?.flags ?? 0) & 0x08).toBe(0x08);
    if (wide) expectTreeStats(wide, statsOf(db));
  });

  it('reports an encrypted environment without parsing its trees', async () => {
    const root = ctx.open({ encryptionKey: 'k'.repeat(32), maxDbs: 5 });
    const db = root.openDB({ name: 'secret' });
    await db.put('s', 'hidden value');
    const info = await envInfo(join(ctx.dir, 'env'));
    const stats = statsOf(root);
    expect(info.encrypted).toBe(true);
    expect(info.envFlags & 0x2000).toBe(0x2000);
    expect(info.namedDatabases).toBeNull();
    expect(info.namedDatabaseCount).toBeNull();
    // Meta pages are plain, so everything from them is still reported.
    expect(info.pageSize).toBe(stats.pageSize);
    expect(info.lastPage).toBe(stats.lastPageNumber);
    expect(info.lastTxnId).toBe(stats.lastTxnId);
    expect(info.mapSize).toBe(stats.mapSize);
    expectTreeStats(info.mainDb, stats.root);
  });
});

describe('envInfo on synthetic data files', () => {
  for (const dataVersion of [1, 2] as const) {
    it(`reads a hand-built data version ${dataVersion} file`, async () => {
      const path = join(ctx.dir, `v${dataVersion}.mdb`);
      writeFileSync(path, buildSyntheticDataFile({ dataVersion, names: ['zeta', 'alpha', 'mid'], txnid: 9 }));
      const info = await envInfo(path);
      expect(info.format).toEqual(
        dataVersion === 2
          ? { dataVersion: 2, pageHeaderSize: 24, description: 'lmdb-js data v2' }
          : { dataVersion: 1, pageHeaderSize: 16, description: 'LMDB 0.9 data v1' },
      );
      expect(info.lastTxnId).toBe(9);
      expect(info.metaSlot).toBe(1);
      expect(info.lastPage).toBe(2);
      expect(info.namedDatabases?.map((d) => d.name)).toEqual(['alpha', 'mid', 'zeta']);
      expect(info.namedDatabases?.[0]?.rootPage).toBeNull();
      expect(info.mainDb).toMatchObject({ depth: 1, entries: 3, rootPage: 2, leafPages: 1, branchPages: 0 });
    });
  }

  it('reads 64 KiB pages', async () => {
    const path = join(ctx.dir, 'big-pages.mdb');
    writeFileSync(path, buildSyntheticDataFile({ dataVersion: 2, names: ['x'], pageSize: 65536 }));
    const info = await envInfo(path);
    expect(info.pageSize).toBe(65536);
    expect(info.namedDatabases?.map((d) => d.name)).toEqual(['x']);
  });

  it('reads an environment with no named databases', async () => {
    const path = join(ctx.dir, 'empty.mdb');
    writeFileSync(path, buildSyntheticDataFile({ dataVersion: 2, names: [] }));
    const info = await envInfo(path);
    expect(info.namedDatabases).toEqual([]);
    expect(info.mainDb.rootPage).toBeNull();
  });
});

describe('envInfo errors', () => {
  it('rejects bad arguments before touching the file system, never throwing synchronously', async () => {
    const pending = envInfo(42 as unknown as string);
    expect(pending).toBeInstanceOf(Promise);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('Expected a string for path but received number 42');
    await expectRejection(envInfo(''), InvalidArgumentError, ErrorCodes.INVALID_ARGUMENT, /^Expected a non-empty path/);
    await expectRejection(envInfo('a\0b'), InvalidArgumentError, ErrorCodes.INVALID_ARGUMENT);
  });

  it('NOT_FOUND for a missing path, with the errno error as cause and the caller in the stack', async () => {
    const missing = join(ctx.dir, 'no-such-env');
    const err = await expectRejection(envInfo(missing), NotFoundError, ErrorCodes.NOT_FOUND, /ENOENT/);
    const cause = err.cause as NodeJS.ErrnoException;
    expect(cause.code).toBe('ENOENT');
    expect(cause.errno).toBe(-osConstants.errno.ENOENT);
    expect(cause.syscall).toBe('open');
    expect(cause.path).toBe(missing);
    expect(err.stack).toContain('01.env-info.test.ts');
    expect(err.stack?.split('\n')[0]).toBe(`NotFoundError: ${err.message}`);
  });

  it('NOT_LMDB for files that are not LMDB data files', async () => {
    const text = join(ctx.dir, 'text.mdb');
    writeFileSync(text, 'not an lmdb file\n'.repeat(1000));
    await expectRejection(envInfo(text), NotLmdbError, ErrorCodes.NOT_LMDB, /no meta page magic/);
    const empty = join(ctx.dir, 'empty.mdb');
    writeFileSync(empty, '');
    await expectRejection(envInfo(empty), NotLmdbError, ErrorCodes.NOT_LMDB, /empty/);
    const tiny = join(ctx.dir, 'tiny.mdb');
    writeFileSync(tiny, Buffer.alloc(10));
    await expectRejection(envInfo(tiny), NotLmdbError, ErrorCodes.NOT_LMDB);
    await expectRejection(envInfo('/dev/null'), NotLmdbError, ErrorCodes.NOT_LMDB, /not a regular file/);
  });

  it.skipIf(process.platform !== 'linux')('IO for other system errors, with errno, syscall and path', async () => {
    // /proc/self/mem is a regular file whose first page is unmapped: pread fails with EIO.
    const err = await expectRejection(envInfo('/proc/self/mem'), IoError, ErrorCodes.IO, /EIO/);
    const cause = err.cause as NodeJS.ErrnoException;
    expect(cause).toMatchObject({ code: 'EIO', errno: -osConstants.errno.EIO, syscall: 'pread', path: '/proc/self/mem' });
  });

  it('UNSUPPORTED_FORMAT for layouts the reader does not handle', async () => {
    const magicAt = (file: Buffer, offset: number, version: number): void => {
      file.fill(0, 0, 64);
      file.writeUInt32LE(0xbeefc0de, offset);
      file.writeUInt32LE(version, offset + 4);
    };
    const cases: Array<[string, (file: Buffer) => void, RegExp]> = [
      ['unknown data version', (f) => f.writeUInt32LE(3, 28), /data version 3/],
      ['32-bit v2 layout', (f) => magicAt(f, 16, 2), /32-bit/],
      ['32-bit v1 layout', (f) => magicAt(f, 12, 1), /32-bit/],
      ['big-endian file', (f) => f.writeUInt32BE(0xbeefc0de, 24), /big-endian/],
      ['page size not a power of two', (f) => f.writeUInt32LE(3000, 24 + 24), /page size 3000/],
      ['page size too small', (f) => f.writeUInt32LE(256, 24 + 24), /page size 256/],
    ];
    for (const [label, damage, message] of cases) {
      const file = buildSyntheticDataFile({ dataVersion: 2, names: ['a'] });
      damage(file);
      const path = join(ctx.dir, `${label.replace(/\W+/g, '-')}.mdb`);
      writeFileSync(path, file);
      await expectRejection(envInfo(path), UnsupportedFormatError, ErrorCodes.UNSUPPORTED_FORMAT, message);
    }
  });

  /** A closed-over copy of a real multi-level env, its pristine info, and helpers to damage the copy. */
  interface DamageableCopy {
    path: string;
    info: EnvInfo;
    patch(offset: number, bytes: Buffer): void;
    read(offset: number, length: number): Buffer;
  }

  async function realCopy(): Promise<DamageableCopy> {
    const root = ctx.open({ maxDbs: NAMED_DB_COUNT + 10 });
    await buildRichEnv(root);
    await root.close();
    const path = join(ctx.dir, 'copy.mdb');
    copyFileSync(join(ctx.dir, 'env', 'data.mdb'), path);
    const info = await envInfo(path);
    return {
      path,
      info,
      patch(offset, bytes) {
        const fd = openSync(path, 'r+');
        try {
          writeSync(fd, bytes, 0, bytes.length, offset);
        } finally {
          closeSync(fd);
        }
      },
      read(offset, length) {
        const fd = openSync(path, 'r');
        try {
          const out = Buffer.alloc(length);
          readSync(fd, out, 0, length, offset);
          return out;
        } finally {
          closeSync(fd);
        }
      },
    };
  }

  function u64(value: number | bigint): Buffer {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    return b;
  }

  /** firstChild: the page number in the first node of a v2 branch page. */
  function firstChild(page: Buffer): number {
    const node = 24 + page.readUInt16LE(24);
    return page.readUInt16LE(node) + page.readUInt16LE(node + 2) * 0x10000 + page.readUInt16LE(node + 4) * 0x100000000;
  }

  it('CORRUPT_ENV for truncated data files (NOT_LMDB once the magic is gone)', async () => {
    const copy = await realCopy();
    const { pageSize } = copy.info;
    truncateSync(copy.path, 4 * pageSize); // metas intact, the main tree's pages are gone
    const beyondEnd = /beyond the end of the .* data file/;
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, beyondEnd);
    truncateSync(copy.path, pageSize + 100); // inside meta page 1
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /meta page 1/);
    truncateSync(copy.path, 100); // magic visible, meta record cut
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /meta page 0/);
    truncateSync(copy.path, 20); // not even the magic
    await expectRejection(envInfo(copy.path), NotLmdbError, ErrorCodes.NOT_LMDB);
  });

  it('CORRUPT_ENV for a wrong page number in the main root and in a main leaf', async () => {
    const copy = await realCopy();
    const { pageSize, mainDb } = copy.info;
    const rootPage = mainDb.rootPage ?? 0;
    const leaf = firstChild(copy.read(rootPage * pageSize, pageSize));
    copy.patch(leaf * pageSize, u64(leaf + 1));
    const leafMessage = new RegExp(`page ${leaf} has page number ${leaf + 1}`);
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, leafMessage);
    copy.patch(rootPage * pageSize, u64(12345));
    const rootMessage = new RegExp(`page ${rootPage} has page number 12345`);
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, rootMessage);
  });

  it('CORRUPT_ENV for a page newer than the meta, bad slots and bad counts', async () => {
    const copy = await realCopy();
    const { pageSize, mainDb, lastTxnId, metaSlot } = copy.info;
    const rootPage = mainDb.rootPage ?? 0;
    const leaf = firstChild(copy.read(rootPage * pageSize, pageSize));
    const leafBytes = copy.read(leaf * pageSize, pageSize);

    copy.patch(leaf * pageSize + 8, u64(lastTxnId + 10));
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /newer than the snapshot/);
    copy.patch(leaf * pageSize, leafBytes);

    const slot = Buffer.alloc(2);
    slot.writeUInt16LE(pageSize - 2); // node header would run past the page
    copy.patch(leaf * pageSize + 24, slot);
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /slot 0/);
    copy.patch(leaf * pageSize, leafBytes);

    const bounds = Buffer.alloc(4);
    bounds.writeUInt16LE(pageSize, 0); // mp_lower beyond mp_upper
    bounds.writeUInt16LE(8, 2);
    copy.patch(leaf * pageSize + 20, bounds);
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /free-space bounds/);
    copy.patch(leaf * pageSize, leafBytes);

    const metaAt = metaSlot * pageSize + 24;
    copy.patch(metaAt + 72 + 32, u64(mainDb.entries + 1)); // main record's entry count
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /its record says/);
    copy.patch(metaAt + 72 + 40, u64(copy.info.lastPage + 1)); // main root beyond the last page
    await expectRejection(envInfo(copy.path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /root page/);
  });

  it('CORRUPT_ENV for a damaged meta page and for a leaf at branch level', async () => {
    const file = buildSyntheticDataFile({ dataVersion: 2, names: ['a', 'b'] });
    const layout = syntheticLayout({ dataVersion: 2 });
    const path = join(ctx.dir, 'meta.mdb');

    const noMagic = Buffer.from(file);
    noMagic.writeUInt32LE(0, layout.metaOffsets[1]);
    writeFileSync(path, noMagic);
    await expectRejection(envInfo(path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /meta page 1 has no LMDB magic/);

    const deeper = Buffer.from(file);
    for (const at of layout.metaOffsets) deeper.writeUInt16LE(2, at + 72 + 6); // main depth 2, but page 2 is a leaf
    writeFileSync(path, deeper);
    await expectRejection(envInfo(path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /expected a branch page/);

    const badRecord = Buffer.from(file);
    const leafAt = 2 * layout.pageSize;
    const firstNode = leafAt + 24 + badRecord.readUInt16LE(leafAt + 24);
    badRecord.writeUInt16LE(47, firstNode); // named DB record of 47 bytes
    writeFileSync(path, badRecord);
    await expectRejection(envInfo(path), CorruptEnvError, ErrorCodes.CORRUPT_ENV, /expected 48/);
  });
});

describe('envInfo on randomly damaged files', () => {
  it('resolves or rejects with a stable code, whatever bytes are damaged', async () => {
    const root = ctx.open({ maxDbs: NAMED_DB_COUNT + 10 });
    await buildRichEnv(root);
    await root.close();
    const pristine = readFileSync(join(ctx.dir, 'env', 'data.mdb'));
    const info = await envInfo(join(ctx.dir, 'env'));
    const { pageSize } = info;
    // Pages worth hitting: both metas and every page of the main tree (found by walking it as the reader does).
    const mainPages: number[] = [];
    const visit = (pgno: number): void => {
      mainPages.push(pgno);
      const at = pgno * pageSize;
      if ((pristine.readUInt16LE(at + 18) & 0x01) === 0) return; // a leaf
      const count = pristine.readUInt16LE(at + 20) / 2;
      for (let i = 0; i < count; i++) {
        const node = at + 24 + pristine.readUInt16LE(at + 24 + 2 * i);
        visit(pristine.readUInt16LE(node) + pristine.readUInt16LE(node + 2) * 0x10000);
      }
    };
    visit(info.mainDb.rootPage ?? 0);
    const targets = [0, 1, ...mainPages];

    // A small deterministic PRNG (mulberry32) so a failure can be replayed.
    let seed = 0x5eed;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const codes = new Set<string>([ErrorCodes.CORRUPT_ENV, ErrorCodes.NOT_LMDB, ErrorCodes.UNSUPPORTED_FORMAT]);
    const path = join(ctx.dir, 'fuzz.mdb');
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 300; round++) {
      const file = Buffer.from(pristine);
      const page = targets[Math.floor(random() * targets.length)] ?? 0;
      // Mostly the header and slot area, where a bad value steers the walk; sometimes anywhere in the page.
      const span = random() < 0.7 ? 64 : pageSize;
      for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
        file[page * pageSize + Math.floor(random() * span)] = Math.floor(random() * 256);
      }
      writeFileSync(path, file);
      const outcome = await envInfo(path).then(
        () => 'ok',
        (err: unknown) => (err as { code?: string }).code ?? String(err),
      );
      expect(outcome === 'ok' || codes.has(outcome), `round ${round}: ${outcome}`).toBe(true);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(outcomes.get(ErrorCodes.CORRUPT_ENV) ?? 0).toBeGreaterThan(0);
  });
});

describe('envInfo threading', () => {
  it('runs off the JS thread: timers keep firing while many calls read a big env', async () => {
    const root = ctx.open();
    await root.transaction(() => {
      for (let k = 0; k < 60_000; k++) root.put(`key-${String(k).padStart(6, '0')}`, { k, pad: 'p'.repeat(40) });
    });
    const envDir = join(ctx.dir, 'env');
    const expected = await envInfo(envDir);
    expect(expected.mainDb.leafPages).toBeGreaterThan(100); // every call walks all of these

    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 1);
    try {
      // A synchronous implementation would finish every batch inside one macrotask, so the interval could never
      // fire and the loop would run to its cap; an asynchronous one yields to the event loop while it waits.
      for (let batch = 0; batch < 500 && ticks < 3; batch++) {
        const results = await Promise.all(Array.from({ length: 16 }, () => envInfo(envDir)));
        for (const result of results) expect(result).toEqual(expected);
      }
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(3);
  });
});
