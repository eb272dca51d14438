import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { createBackupReader, readBackupHeader, verifyBackupFile } from '../../src/format/reader.js';
import { encodePrefix } from '../../src/format/layout.js';
import { loadKey, type LoadedKey } from '../../src/keys/keys.js';
import { xxhash } from '../../src/transforms/checksum.js';
import { closeCodecPool } from '../../src/transforms/codec-pool.js';
import { collect, flip, parseLayout, randomData, readBackupBytes, sliced, testData, writeBackupBytes, type FileLayout, type ReadOutcome } from './helpers.js';

const CHUNK = 4096;
let dir: string;
let key: LoadedKey;
let otherKey: LoadedKey;
const data = Buffer.concat([testData(5 * CHUNK + 1000, 5), randomData(CHUNK, 3)]);

interface Variant {
  name: string;
  file: Buffer;
  /** Another file of the same data, same key: a source of frames to splice. */
  other: Buffer;
  layout: FileLayout;
  key: LoadedKey | undefined;
}
const variants: Variant[] = [];

beforeAll(async () => {
  await xxhash();
  dir = mkdtempSync(join(tmpdir(), 'pv-corrupt-'));
  key = await loadKey({ raw: Buffer.alloc(32, 0x42) });
  otherKey = await loadKey({ raw: Buffer.alloc(32, 0x43) });
  for (const encrypted of [false, true]) {
    const k = encrypted ? key : undefined;
    const { file } = await writeBackupBytes(data, { compression: 'zstd', chunkSize: CHUNK, key: k });
    const { file: other } = await writeBackupBytes(data, { compression: 'zstd', chunkSize: CHUNK, key: k });
    variants.push({ name: encrypted ? 'encrypted' : 'unencrypted', file, other, layout: parseLayout(file, encrypted ? 16 : 8), key: k });
  }
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await closeCodecPool();
});

/** expectFailure: `outcome` failed with `code`, and whatever it emitted first is a correct prefix of the plaintext. */
function expectFailure(outcome: ReadOutcome, code: string, what: string): void {
  expect(outcome.error?.code, `${what}: ${outcome.error?.message ?? 'no error'}`).toBe(code);
  expect(data.subarray(0, outcome.data.length).equals(outcome.data), `${what}: emitted bytes are not a prefix of the plaintext`).toBe(true);
}

function concatFrames(v: Variant, order: number[]): Buffer {
  const { file, layout } = v;
  return Buffer.concat([file.subarray(0, layout.framesStart), ...order.map((i) => file.subarray(layout.frames[i].start, layout.frames[i].end))]);
}

/** rewriteHeader: `file` with its JSON header changed by `mutate`, a valid prefix (of `version`) and a recomputed header hash. */
function rewriteHeader(file: Buffer, layout: FileLayout, mutate: (header: Record<string, unknown>) => void, version = 1): Buffer {
  const header = JSON.parse(file.subarray(layout.headerStart, layout.hashStart).toString('utf8')) as Record<string, unknown>;
  mutate(header);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = encodePrefix(json.length, version);
  const hash = createHash('sha256').update(prefix).update(json).digest();
  return Buffer.concat([prefix, json, hash, file.subarray(layout.framesStart)]);
}

describe('backup file damage is detected, with the specific error code', () => {
  it('the reference files read back intact', async () => {
    for (const v of variants) {
      const outcome = await readBackupBytes(v.file, { key: v.key });
      expect(outcome.error).toBeNull();
      expect(outcome.data.equals(data)).toBe(true);
      expect(v.layout.frames.some((f) => f.flags === 2)).toBe(true); // a stored chunk is part of the test
      expect(v.layout.frames.some((f) => f.flags === 0)).toBe(true);
    }
  });

  it('a flipped byte anywhere (prefix, header, header hash, frame heads, payloads, checks/tags, trailer) → BACKUP_CORRUPT', async () => {
    for (const v of variants) {
      const { file, layout } = v;
      const offsets = new Set<number>();
      for (let i = 0; i < 18; i++) offsets.add(i); // magic, version, header length, prefix check
      for (const i of [0, 1, Math.floor(layout.headerLength / 2), layout.headerLength - 1]) offsets.add(layout.headerStart + i);
      for (let i = 0; i < 32; i++) offsets.add(layout.hashStart + i);
      for (const f of layout.frames) {
        for (let i = f.start; i < f.payloadStart; i++) offsets.add(i); // length, flags, head check
        for (const i of [f.payloadStart, f.payloadStart + (f.payloadLength >> 1), f.checkStart - 1]) offsets.add(i);
        for (let i = f.checkStart; i < f.end; i++) offsets.add(i);
      }
      const trailer = layout.frames.at(-1)!;
      for (let i = trailer.payloadStart; i < trailer.checkStart; i++) offsets.add(i);
      for (let i = 0; i < file.length; i += 61) offsets.add(i);
      for (const offset of offsets) {
        const outcome = await readBackupBytes(flip(file, offset), { key: v.key }, 1_000);
        expectFailure(outcome, ErrorCodes.BACKUP_CORRUPT, `${v.name}: byte ${offset} of ${file.length}`);
      }
    }
  });

  it('a file cut short at any point → BACKUP_TRUNCATED, including inside the prefix, header and trailer', async () => {
    for (const v of variants) {
      const { file, layout } = v;
      const offsets = new Set<number>([0]);
      for (let i = 1; i < layout.framesStart + 12; i++) offsets.add(i);
      for (const f of layout.frames) for (const i of [f.start, f.start + 1, f.start + 8, f.payloadStart, f.checkStart, f.end - 1]) offsets.add(i);
      for (let i = 0; i < file.length; i += 97) offsets.add(i);
      offsets.delete(file.length);
      for (const offset of offsets) {
        const outcome = await readBackupBytes(file.subarray(0, offset), { key: v.key }, 777);
        expectFailure(outcome, ErrorCodes.BACKUP_TRUNCATED, `${v.name}: cut at ${offset} of ${file.length}`);
      }
    }
  });

  it('frames swapped, duplicated, dropped, or the trailer moved → BACKUP_CORRUPT', async () => {
    for (const v of variants) {
      const n = v.layout.frames.length; // data frames 0..n-2, trailer n-1
      const data = [...Array(n - 1).keys()];
      const cases: Array<[string, number[]]> = [
        ['frames 1 and 2 swapped', [0, 2, 1, ...data.slice(3), n - 1]],
        ['first and last data frames swapped', [n - 2, ...data.slice(1, -1), 0, n - 1]],
        ['frame 1 duplicated', [0, 1, 1, ...data.slice(2), n - 1]],
        ['last data frame duplicated', [...data, n - 2, n - 1]],
        ['frame 2 dropped', [0, 1, ...data.slice(3), n - 1]],
        ['last data frame dropped', [...data.slice(0, -1), n - 1]],
        ['trailer before the last data frame', [...data.slice(0, -1), n - 1, n - 2]],
        ['trailer first', [n - 1, ...data]],
      ];
      for (const [what, order] of cases) {
        expectFailure(await readBackupBytes(concatFrames(v, order), { key: v.key }), ErrorCodes.BACKUP_CORRUPT, `${v.name}: ${what}`);
      }
    }
  });

  it('bytes appended after the trailer → BACKUP_CORRUPT', async () => {
    for (const v of variants) {
      const trailer = v.layout.frames.at(-1)!;
      const tails: Array<[string, Buffer]> = [
        ['one zero byte', Buffer.alloc(1)],
        ['100 random bytes', randomData(100, 9)],
        ['the trailer again', v.file.subarray(trailer.start, trailer.end)],
        ['the whole file again', v.file],
      ];
      for (const [what, tail] of tails) {
        expectFailure(await readBackupBytes(Buffer.concat([v.file, tail]), { key: v.key }), ErrorCodes.BACKUP_CORRUPT, `${v.name}: ${what}`);
      }
    }
  });

  it('a frame spliced in from another file (same key, same data, same index) → BACKUP_CORRUPT', async () => {
    for (const v of variants) {
      const otherLayout = parseLayout(v.other, v.key ? 16 : 8);
      for (const i of [0, 2, v.layout.frames.length - 1]) {
        const mine = v.layout.frames[i];
        const theirs = otherLayout.frames[i];
        const spliced = Buffer.concat([v.file.subarray(0, mine.start), v.other.subarray(theirs.start, theirs.end), v.file.subarray(mine.end)]);
        expectFailure(await readBackupBytes(spliced, { key: v.key }), ErrorCodes.BACKUP_CORRUPT, `${v.name}: frame ${i} from another file`);
      }
    }
  });

  it('a header edited with a recomputed hash is caught at the first frame, before any output', async () => {
    for (const v of variants) {
      const edited = rewriteHeader(v.file, v.layout, (h) => (h.chainId = 'another-chain'));
      const outcome = await readBackupBytes(edited, { key: v.key });
      expectFailure(outcome, ErrorCodes.BACKUP_CORRUPT, `${v.name}: edited header`);
      expect(outcome.data.length).toBe(0);
    }
  });

  it('wrong key → WRONG_KEY before any output, from the stream and from `header`', async () => {
    const v = variants.find((x) => x.key)!;
    const reader = createBackupReader({ key: otherKey });
    const out = collect();
    const piped = new Promise<Error>((resolve) => {
      sliced(v.file, 512).pipe(reader).on('error', resolve).pipe(out.sink);
    });
    const err = (await piped) as Error & { code?: string };
    expect(err.code).toBe(ErrorCodes.WRONG_KEY);
    expect(out.count()).toBe(0);
    await expect(reader.header).rejects.toMatchObject({ code: ErrorCodes.WRONG_KEY });
    await expect(reader.done).rejects.toMatchObject({ code: ErrorCodes.WRONG_KEY });
    // The right key: `header` resolves before the first frame is even written in.
    const right = createBackupReader({ key });
    right.write(v.file.subarray(0, v.layout.framesStart));
    expect((await right.header).cipher).toMatchObject({ name: 'aes-256-gcm', keyId: key.id });
    right.destroy();
    // A passphrase key for a key-file backup is wrong too.
    const pass = await loadKey({ passphrase: 'x', scrypt: { N: 1024 } });
    const outcome = await readBackupBytes(v.file, { key: pass });
    expect(outcome.error?.code).toBe(ErrorCodes.WRONG_KEY);
    expect(outcome.data.length).toBe(0);
  });

  it('encrypted file without a key → KEY_REQUIRED before any output', async () => {
    const enc = variants.find((x) => x.key)!;
    const outcome = await readBackupBytes(enc.file, {});
    expect(outcome.error?.code).toBe(ErrorCodes.KEY_REQUIRED);
    expect(outcome.data.length).toBe(0);
    const reader = createBackupReader();
    reader.on('error', () => {});
    reader.end(enc.file.subarray(0, enc.layout.framesStart + 3));
    await expect(reader.header).rejects.toMatchObject({ code: ErrorCodes.KEY_REQUIRED });
  });

  it('with a key, an unencrypted file is refused (a downgrade) → WRONG_KEY, unless requireEncryption is false', async () => {
    const plain = variants.find((x) => !x.key)!;
    const refused = await readBackupBytes(plain.file, { key });
    expect(refused.error?.code).toBe(ErrorCodes.WRONG_KEY);
    expect(refused.data.length).toBe(0);
    const back = await readBackupBytes(plain.file, { key, requireEncryption: false });
    expect(back.error).toBeNull();
    expect(back.data.equals(data)).toBe(true);
  });

  it('unknown format version, compression, cipher or KDF → UNSUPPORTED_BACKUP', async () => {
    for (const v of variants) {
      const cases: Array<[string, Buffer]> = [
        ['version 2', rewriteHeader(v.file, v.layout, () => {}, 2)],
        ['version 0', rewriteHeader(v.file, v.layout, () => {}, 0)],
        ['compression id 9', rewriteHeader(v.file, v.layout, (h) => (h.compression = { id: 9, name: 'brotli', level: 3 }))],
        ['compression name mismatch', rewriteHeader(v.file, v.layout, (h) => (h.compression = { id: 1, name: 'gzip', level: 3 }))],
        ['zstd level 22', rewriteHeader(v.file, v.layout, (h) => (h.compression = { id: 1, name: 'zstd', level: 22 }))],
        ['cipher id 7', rewriteHeader(v.file, v.layout, (h) => (h.cipher = { id: 7, name: 'chacha20-poly1305' }))],
        ['chunk size 1 GiB', rewriteHeader(v.file, v.layout, (h) => (h.chunkSize = 1024 ** 3))],
      ];
      if (v.key) {
        cases.push(['kdf argon2id', rewriteHeader(v.file, v.layout, (h) => ((h.cipher as Record<string, unknown>).kdf = { name: 'argon2id', m: 1, t: 1, p: 1, salt: 'AAAAAAAAAAAAAAAAAAAAAA==' }))]);
      }
      for (const [what, file] of cases) {
        const outcome = await readBackupBytes(file, { key: v.key });
        expect(outcome.error?.code, `${v.name}: ${what}: ${outcome.error?.message}`).toBe(ErrorCodes.UNSUPPORTED_BACKUP);
        expect(outcome.data.length).toBe(0);
      }
    }
  });

  it('a passphrase header with an absurd scrypt cost is refused, not run', async () => {
    const v = variants.find((x) => x.key)!;
    const pass = await loadKey({ passphrase: 'p', scrypt: { N: 1024 } });
    const file = rewriteHeader(v.file, v.layout, (h) => ((h.cipher as Record<string, unknown>).kdf = { name: 'scrypt', N: 2 ** 30, r: 8, p: 1, salt: 'AAAAAAAAAAAAAAAAAAAAAA==' }));
    const outcome = await readBackupBytes(file, { key: pass });
    expect(outcome.error?.code).toBe(ErrorCodes.UNSUPPORTED_BACKUP);
  });

  it('input that is not a backup: empty and a magic prefix → TRUNCATED, anything else → CORRUPT', async () => {
    expect((await readBackupBytes(Buffer.alloc(0))).error?.code).toBe(ErrorCodes.BACKUP_TRUNCATED);
    expect((await readBackupBytes(Buffer.from('PGVAU'))).error?.code).toBe(ErrorCodes.BACKUP_TRUNCATED);
    expect((await readBackupBytes(Buffer.from('PK\x03\x04'))).error?.code).toBe(ErrorCodes.BACKUP_CORRUPT);
    expect((await readBackupBytes(randomData(10_000, 1))).error?.code).toBe(ErrorCodes.BACKUP_CORRUPT);
    expect((await readBackupBytes(Buffer.from('{"kind":"full-snapshot"}\n'.repeat(100)))).error?.code).toBe(ErrorCodes.BACKUP_CORRUPT);
  });

  it('readBackupHeader and verifyBackupFile report the same codes on files', async () => {
    const v = variants.find((x) => x.key)!;
    const write = (name: string, bytes: Buffer): string => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      return path;
    };
    const good = write('good.pgv', v.file);
    expect((await readBackupHeader(good)).cipher).toMatchObject({ keyId: key.id });
    expect((await verifyBackupFile(good, { key })).plaintextBytes).toBe(data.length);
    await expect(readBackupHeader(write('cut.pgv', v.file.subarray(0, v.layout.hashStart + 5)))).rejects.toMatchObject({ code: ErrorCodes.BACKUP_TRUNCATED });
    await expect(readBackupHeader(write('short.pgv', v.file.subarray(0, 7)))).rejects.toMatchObject({ code: ErrorCodes.BACKUP_TRUNCATED });
    await expect(readBackupHeader(write('flip.pgv', flip(v.file, v.layout.headerStart + 3)))).rejects.toMatchObject({ code: ErrorCodes.BACKUP_CORRUPT });
    await expect(readBackupHeader(write('v2.pgv', rewriteHeader(v.file, v.layout, () => {}, 2)))).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED_BACKUP });
    await expect(readBackupHeader(join(dir, 'missing.pgv'))).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(verifyBackupFile(join(dir, 'missing.pgv'), { key })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(verifyBackupFile(write('tail.pgv', Buffer.concat([v.file, Buffer.alloc(3)])), { key })).rejects.toMatchObject({ code: ErrorCodes.BACKUP_CORRUPT });
    await expect(verifyBackupFile(write('trunc.pgv', v.file.subarray(0, v.file.length - 1)), { key })).rejects.toMatchObject({ code: ErrorCodes.BACKUP_TRUNCATED });
    await expect(verifyBackupFile(good, { key: otherKey })).rejects.toMatchObject({ code: ErrorCodes.WRONG_KEY });
    await expect(verifyBackupFile(good)).rejects.toMatchObject({ code: ErrorCodes.KEY_REQUIRED });
  });
});
