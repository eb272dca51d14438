/**
 * Malformed JSON input: every kind of bad stream is a clear error with a stable code and
 * the record number, and an import that fails leaves nothing at the destination.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { importJson } from '../../src/json/standalone.js';
import { readRecords } from '../../src/json/records.js';
import { fromJsonValue } from '../../src/json/value-json.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv('pv-json-bad-');

const header = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({ t: 'header', format: 'pagevault-json', version: 1, kind: 'docdb', incremental: false, database: { name: 'x', id: 'id' }, txnId: 5, lastEtag: 2, baseEtag: null, created: new Date(0).toISOString(), ...over });
const doc = (id: string, etag: number): string => JSON.stringify({ t: 'doc', id, v: { etag, collection: 'Users', modified: 1, body: { n: etag } } });
const end = (n: number): string => JSON.stringify({ t: 'end', records: n });

async function importText(text: string): Promise<{ to: string; error: unknown }> {
  const to = join(tmp.dir, 'imported');
  try {
    await importJson({ to, input: Readable.from([Buffer.from(text)]) });
    return { to, error: undefined };
  } catch (error) {
    return { to, error };
  }
}

describe('JSON import of malformed input', () => {
  it('imports a well-formed stream (the control case)', async () => {
    const { to, error } = await importText([header(), doc('users/1', 1), doc('users/2', 2), end(2), ''].join('\n'));
    expect(error).toBeUndefined();
    expect(existsSync(join(to, 'data.mdb'))).toBe(true);
  });

  const cases: Array<[string, string, string, number | undefined]> = [
    ['a line that is not JSON', [header(), doc('users/1', 1), '{"t":"doc", oops', end(2)].join('\n'), ErrorCodes.INVALID_RECORD, 3],
    ['an unknown record type', [header(), JSON.stringify({ t: 'gizmo' }), end(1)].join('\n'), ErrorCodes.INVALID_RECORD, 2],
    ['a record type of the other kind', [header(), JSON.stringify({ t: 'entry', db: null, k: 'a', v: 1 }), end(1)].join('\n'), ErrorCodes.INVALID_RECORD, 2],
    ['a wrong format version', [header({ version: 99 }), end(0)].join('\n'), ErrorCodes.UNSUPPORTED_BACKUP, undefined],
    ['a missing header', [doc('users/1', 1), end(1)].join('\n'), ErrorCodes.INVALID_RECORD, 1],
    ['another format', [header({ format: 'something-else' }), end(0)].join('\n'), ErrorCodes.INVALID_RECORD, 1],
    ['a truncated stream (no end record)', [header(), doc('users/1', 1), doc('users/2', 2)].join('\n'), ErrorCodes.INVALID_RECORD, 4],
    ['a stream cut inside a line', `${[header(), doc('users/1', 1)].join('\n')}\n{"t":"doc","id":"us`, ErrorCodes.INVALID_RECORD, 3],
    ['an end record with the wrong count', [header(), doc('users/1', 1), end(5)].join('\n'), ErrorCodes.INVALID_RECORD, 3],
    ['data after the end record', [header(), end(0), doc('users/1', 1)].join('\n'), ErrorCodes.INVALID_RECORD, 3],
    ['a document without an etag', [header(), JSON.stringify({ t: 'doc', id: 'users/1', v: { collection: 'Users', body: {} } }), end(1)].join('\n'), ErrorCodes.INVALID_RECORD, 2],
    ['an unknown value tag', [header(), JSON.stringify({ t: 'doc', id: 'u/1', v: { etag: 1, collection: 'Users', modified: 1, body: { x: { $pv: 'nope' } } } }), end(1)].join('\n'), ErrorCodes.INVALID_RECORD, 2],
    ['an empty stream', '', ErrorCodes.INVALID_RECORD, 1],
    ['an incremental given as the first file', [header({ incremental: true, baseEtag: 1 }), end(0)].join('\n'), ErrorCodes.INVALID_RECORD, 1],
  ];
  for (const [what, text, code, record] of cases) {
    it(`refuses ${what} and leaves nothing behind`, async () => {
      const { to, error } = await importText(text);
      expect(error).toMatchObject({ code });
      if (record !== undefined) expect(error).toMatchObject({ record });
      expect(existsSync(to)).toBe(false);
      expect(readdirSync(tmp.dir)).toEqual([]);
    });
  }

  it('a unique index that the documents violate fails the import (index worker stopped) and leaves nothing', async () => {
    const index = JSON.stringify({ t: 'index', v: { name: 'Users.byEmail', collection: 'Users', fields: ['email'], unique: true } });
    const twin = (id: string, etag: number): string => JSON.stringify({ t: 'doc', id, v: { etag, collection: 'Users', modified: 1, body: { email: 'same@x.org' } } });
    const many = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ t: 'doc', id: `users/${String(i).padStart(5, '0')}`, v: { etag: i + 10, collection: 'Users', modified: 1, body: { email: `u${i}@x.org` } } }));
    const { to, error } = await importText([header({ lastEtag: 4000 }), index, ...many, twin('users/a', 5000), twin('users/b', 5001), end(3003), ''].join('\n'));
    expect(error).toMatchObject({ code: ErrorCodes.UNIQUE_VIOLATION });
    expect(existsSync(to)).toBe(false);
    expect(readdirSync(tmp.dir)).toEqual([]);
  });

  it('refuses to import onto existing data and leaves it untouched', async () => {
    const to = join(tmp.dir, 'existing');
    mkdirSync(to);
    writeFileSync(join(to, 'keep.txt'), 'precious');
    await expect(importJson({ to, input: Readable.from([Buffer.from([header(), end(0)].join('\n'))]) })).rejects.toMatchObject({ code: ErrorCodes.DESTINATION_NOT_EMPTY });
    expect(readdirSync(to)).toEqual(['keep.txt']);
  });

  it('reads records split across chunks at any byte', async () => {
    const text = `${[header(), doc('users/1', 1), doc('users/é', 2), end(2)].join('\n')}\n`;
    const bytes = Buffer.from(text);
    for (const size of [1, 2, 3, 7, 64]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const got = [];
      for await (const r of readRecords(Readable.from(chunks))) got.push(r.record.t);
      expect(got).toEqual(['header', 'doc', 'doc', 'end']);
    }
  });

  it('decodes every tag and rejects malformed ones', () => {
    const v = fromJsonValue(JSON.parse('{"a":{"$pv":"bigint","v":"-12"},"b":{"$pv":"date","v":5},"c":{"$pv":"bin","v":"AAE="},"d":{"$pv":"num","v":"-Infinity"},"e":{"$pv":"obj","v":{"$pv":1}},"f":[{"$pv":"undefined"}],"g":-0}')) as Record<string, unknown>;
    expect(v).toEqual({ a: -12n, b: new Date(5), c: Buffer.from([0, 1]), d: -Infinity, e: { $pv: 1 }, f: [undefined], g: -0 });
    expect(Object.is(v.g, -0)).toBe(true);
    expect(() => fromJsonValue({ $pv: 'bigint', v: '1.5' })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_RECORD }));
    expect(() => fromJsonValue({ $pv: 'bin', v: 3 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_RECORD }));
  });
});
