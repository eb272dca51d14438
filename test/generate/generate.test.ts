import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/docdb/database.js';
import { generateDataset, type GenerateResult } from '../../src/generate/generate.js';
import { ErrorCodes } from '../../src/errors.js';

let dir: string;
let first: GenerateResult;
const DOCS = 20_000;

/** contentDigest: sha256 over every document as JSON, in key order, read with plain lmdb-js. */
function contentDigest(path: string): { digest: string; json: string[] } {
  const env = open({ path, maxDbs: 64 });
  const docs = env.openDB('@docs', {});
  const hash = createHash('sha256');
  const json: string[] = [];
  for (const { key, value } of docs.getRange({})) {
    const line = JSON.stringify([key, value]);
    hash.update(line);
    json.push(line);
  }
  void env.close();
  return { digest: hash.digest('hex'), json };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pv-gen-'));
  first = await generateDataset({ path: join(dir, 'a'), docs: DOCS, seed: 'test-seed', threads: 1 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('generateDataset', () => {
  it('is deterministic: same seed gives the same JSON content whatever the thread count', async () => {
    await generateDataset({ path: join(dir, 'b'), docs: DOCS, seed: 'test-seed', threads: 0, batchSize: 700 });
    await generateDataset({ path: join(dir, 'c'), docs: DOCS, seed: 'other-seed', threads: 2 });
    // Odd batch sizes in a worker: buffers sized from the bytes per document seen, of any length.
    await generateDataset({ path: join(dir, 'd'), docs: DOCS, seed: 'test-seed', threads: 1, batchSize: 777 });
    const a = contentDigest(join(dir, 'a')).digest;
    expect(contentDigest(join(dir, 'b')).digest).toBe(a);
    expect(contentDigest(join(dir, 'd')).digest).toBe(a);
    expect(contentDigest(join(dir, 'c')).digest).not.toBe(a);
  });

  it('writes realistic documents that plain lmdb-js reads: sizes, shapes, overflow tail', () => {
    expect(first).toMatchObject({ docs: DOCS, seed: 'test-seed', profile: 'default' });
    const { json } = contentDigest(join(dir, 'a'));
    expect(json).toHaveLength(DOCS);
    const sizes = json.map((l) => Buffer.byteLength(l)).sort((a, b) => a - b);
    expect(sizes[0]).toBeGreaterThan(150);
    expect(sizes[0]).toBeLessThan(400);
    expect(sizes[Math.floor(sizes.length / 2)]).toBeLessThan(2000);
    // A tail past one 4 KiB page, and some over 16 KiB (LMDB overflow pages).
    expect(sizes.filter((s) => s > 16_000).length).toBeGreaterThan(5);
    expect(sizes.filter((s) => s > 4096).length).toBeGreaterThan(DOCS * 0.02);
    const sample = JSON.parse(json.find((l) => l.startsWith('["users/1-A",'))!);
    expect(sample[1]).toMatchObject({ collection: 'Users', modified: expect.any(Number), etag: expect.any(Number) });
    expect(sample[1].body).toMatchObject({ email: expect.stringMatching(/^user1\.[a-z]+@/), address: { city: expect.any(String) } });
  });

  it('stores byte for byte what lmdb-js itself would write for the same documents', () => {
    const env = open({ path: join(dir, 'a'), maxDbs: 64 });
    try {
      const docs = env.openDB('@docs', {});
      const raw = env.openDB<Buffer, Buffer>('@docs', { keyEncoding: 'binary', encoding: 'binary' });
      const encoder = (docs as unknown as { encoder: { encode(v: unknown): Uint8Array } }).encoder;
      let checked = 0;
      let prev: Buffer | undefined;
      for (const { key, value } of raw.getRange({})) {
        // The tree is in key order (memcmp), as every LMDB reader expects.
        if (prev) expect(Buffer.compare(prev, key)).toBe(-1);
        prev = key;
        const decoded = docs.get(key.toString());
        expect(Buffer.from(encoder.encode(decoded)).equals(value)).toBe(true);
        checked++;
      }
      expect(checked).toBe(DOCS);
    } finally {
      void env.close();
    }
  });

  it('builds exactly the index data a rebuild produces, and identities and etags that continue', async () => {
    const db = openDatabase(join(dir, 'a'));
    try {
      expect(db.lastEtag).toBe(DOCS);
      const stats = db.stats();
      expect(stats.documents).toBe(DOCS);
      expect(Object.values(stats.identities).reduce((a, b) => a + b, 0)).toBe(DOCS);
      for (const def of db.listIndexes()) {
        const idx = db.indexDb(def);
        const before = [...idx.getRange({})].map((e) => JSON.stringify([e.key, e.value]));
        expect(before.length).toBeGreaterThan(0);
        await db.rebuildIndex(def.name);
        const after = [...idx.getRange({})].map((e) => JSON.stringify([e.key, e.value]));
        expect(after).toEqual(before);
      }
      // The generated database is a normal document database: writes go on from there.
      const res = await db.put('Users', null, { email: 'new@example.com' });
      expect(res).toEqual({ id: `users/${stats.identities.Users + 1}-A`, etag: DOCS + 1 });
      const taken = db.get('users/1-A')!.body.email as string;
      await expect(db.put('Users', null, { email: taken })).rejects.toMatchObject({ code: ErrorCodes.UNIQUE_VIOLATION });
      expect(db.query('Users.byEmail', { equals: taken }).map((d) => d.id)).toEqual(['users/1-A']);
    } finally {
      await db.close();
    }
  });

  it('compresses like real JSON with zstd -3 (3x to 6x), not like repeated text', () => {
    const { json } = contentDigest(join(dir, 'a'));
    const file = join(dir, 'export.jsonl');
    writeFileSync(file, json.join('\n'));
    const compressed = execFileSync('zstd', ['-3', '-c', '-q', file], { maxBuffer: 1 << 30 });
    const ratio = Buffer.byteLength(json.join('\n')) / compressed.length;
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(6);
  });

  it('refuses a database that already holds documents, and bad options, leaving data untouched', async () => {
    const before = contentDigest(join(dir, 'a')).digest;
    await expect(generateDataset({ path: join(dir, 'a'), docs: 10 })).rejects.toMatchObject({ code: ErrorCodes.DESTINATION_NOT_EMPTY });
    expect(contentDigest(join(dir, 'a')).digest).toBe(before);
    await expect(generateDataset({ path: join(dir, 'x'), docs: -1 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(generateDataset({ path: join(dir, 'x'), docs: 1, profile: 'nope' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });
});
