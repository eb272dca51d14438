import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { createBackupReader, readBackupHeader, verifyBackupFile } from '../../src/format/reader.js';
import { createBackupWriter } from '../../src/format/writer.js';
import { loadKey, type LoadedKey } from '../../src/keys/keys.js';
import { closeCodecPool } from '../../src/transforms/codec-pool.js';
import type { CompressionName } from '../../src/transforms/compress.js';
import { collect, INIT, parseLayout, randomData, readBackupBytes, sha256, sliced, testData, writeBackupBytes } from './helpers.js';

const CHUNK = 64 * 1024;
let dir: string;
let key: LoadedKey;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pv-format-'));
  key = await loadKey({ raw: Buffer.alloc(32, 0x11) });
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await closeCodecPool();
});

const compressions: CompressionName[] = ['none', 'zstd', 'gzip'];
const sizes: Array<[string, number]> = [
  ['0 bytes', 0],
  ['1 byte', 1],
  ['exactly one chunk', CHUNK],
  ['many chunks', 10 * CHUNK + 1234],
];

describe('backup file round trip (real files)', () => {
  for (const compression of compressions) {
    for (const encrypted of [false, true]) {
      for (const [label, size] of sizes) {
        it(`${compression}, ${encrypted ? 'encrypted' : 'unencrypted'}, ${label}`, async () => {
          const data = testData(size, size + 3);
          const path = join(dir, `${compression}-${encrypted}-${size}.pgv`);
          const writer = createBackupWriter(INIT, { compression, chunkSize: CHUNK, key: encrypted ? key : undefined });
          await pipeline(sliced(data, 9_973), writer, createWriteStream(path));
          const written = await writer.done;
          const file = readFileSync(path);

          expect(written.bytes).toBe(file.length);
          expect(written.sha256).toBe(sha256(file));
          expect(written.plaintextBytes).toBe(size);
          expect(written.chunks).toBe(Math.ceil(size / CHUNK));
          expect(written.header.compression.name).toBe(compression);
          expect(written.header.cipher.name).toBe(encrypted ? 'aes-256-gcm' : 'none');

          // The layout matches the documented one: n data frames, then one FINAL frame of 56 bytes.
          const layout = parseLayout(file, encrypted ? 16 : 8);
          expect(layout.frames.length).toBe(written.chunks + 1);
          expect(layout.frames.at(-1)!.flags).toBe(1);
          expect(layout.frames.at(-1)!.payloadLength).toBe(56);
          expect(layout.frames.slice(0, -1).every((f) => (f.flags & 1) === 0)).toBe(true);

          const reader = createBackupReader({ key: encrypted ? key : undefined });
          const out = collect();
          await pipeline(createReadStream(path, { highWaterMark: 7_919 }), reader, out.sink);
          expect(out.bytes().equals(data)).toBe(true);
          const read = await reader.done;
          expect(read).toEqual(written);
          expect((await reader.header).fileId).toBe(written.header.fileId);

          expect(await verifyBackupFile(path, { key: encrypted ? key : undefined })).toEqual(written);
          const header = await readBackupHeader(path);
          expect(header).toEqual(written.header);
        });
      }
    }
  }

  it('default 4 MiB chunks, zstd + AES, incompressible and compressible chunks mixed', async () => {
    const data = Buffer.concat([testData(5 * 1024 * 1024, 9), randomData(3 * 1024 * 1024 + 17)]);
    const { file, summary } = await writeBackupBytes(data, { key }, INIT, 1024 * 1024 + 3);
    expect(summary.header.chunkSize).toBe(4 * 1024 * 1024);
    expect(summary.chunks).toBe(3);
    const layout = parseLayout(file, 16);
    // The second chunk is mostly random: stored (flag bit 1) or compressed, but never larger than the chunk.
    for (const frame of layout.frames.slice(0, -1)) expect(frame.payloadLength).toBeLessThanOrEqual(4 * 1024 * 1024);
    const back = await readBackupBytes(file, { key }, 65_536);
    expect(back.error).toBeNull();
    expect(back.data.equals(data)).toBe(true);
  });

  it('stores an incompressible chunk uncompressed (STORED flag) and reads it back', async () => {
    const data = randomData(3 * CHUNK);
    const { file } = await writeBackupBytes(data, { compression: 'zstd', chunkSize: CHUNK });
    const layout = parseLayout(file, 8);
    expect(layout.frames.slice(0, -1).every((f) => f.flags === 2 && f.payloadLength === CHUNK)).toBe(true);
    const back = await readBackupBytes(file);
    expect(back.data.equals(data)).toBe(true);
  });

  it('passphrase keys: the header records scrypt parameters and salt; the same passphrase re-derives on read', async () => {
    const pass = await loadKey({ passphrase: 'correct horse battery staple', scrypt: { N: 2 ** 12 } });
    const data = testData(3 * CHUNK + 5);
    const { file, summary } = await writeBackupBytes(data, { compression: 'zstd', chunkSize: CHUNK, key: pass });
    expect(summary.header.cipher).toMatchObject({ name: 'aes-256-gcm', keyId: pass.id, kdf: { name: 'scrypt', N: 4096, r: 8, p: 1, salt: pass.kdf!.salt } });
    // A fresh load of the same passphrase has another salt (another id) but reads the file.
    const again = await loadKey({ passphrase: 'correct horse battery staple', scrypt: { N: 2 ** 12 } });
    expect(again.id).not.toBe(pass.id);
    const back = await readBackupBytes(file, { key: again });
    expect(back.error).toBeNull();
    expect(back.data.equals(data)).toBe(true);
    const wrong = await readBackupBytes(file, { key: await loadKey({ passphrase: 'Correct horse battery staple', scrypt: { N: 2 ** 12 } }) });
    expect(wrong.error?.code).toBe(ErrorCodes.WRONG_KEY);
    expect(wrong.data.length).toBe(0);
  });

  it('records every header field the caller gives, and incremental kinds', async () => {
    const init = { ...INIT, kind: 'incremental-backup' as const, sequence: 3, baseTxnId: 40, snapshotTxnId: 57, pageSize: null, meta: { docs: 12, labels: ['nightly'] } };
    const { summary, file } = await writeBackupBytes(testData(100), { compression: 'gzip', level: 9, chunkSize: CHUNK }, init);
    const path = join(dir, 'incremental.pgv');
    await pipeline(sliced(file, 1000), createWriteStream(path));
    const header = await readBackupHeader(path);
    expect(header).toMatchObject({
      formatVersion: 1,
      kind: 'incremental-backup',
      database: 'test-db',
      chainId: 'chain-1',
      sequence: 3,
      baseTxnId: 40,
      snapshotTxnId: 57,
      pageSize: null,
      createdAt: '2025-01-02T03:04:05.000Z',
      chunkSize: CHUNK,
      compression: { id: 2, name: 'gzip', level: 9 },
      cipher: { id: 0, name: 'none' },
      meta: { docs: 12, labels: ['nightly'] },
    });
    expect(header.fileId).toMatch(/^[0-9a-f]{32}$/);
    expect(summary.header).toEqual(header);
    expect(statSync(path).size).toBe(summary.bytes);
  });

  it('every file gets a fresh file id, salt and nonce prefix, so equal input gives different ciphertext', async () => {
    const data = testData(CHUNK);
    const a = await writeBackupBytes(data, { chunkSize: CHUNK, key });
    const b = await writeBackupBytes(data, { chunkSize: CHUNK, key });
    expect(a.summary.header.fileId).not.toBe(b.summary.header.fileId);
    const ca = a.summary.header.cipher;
    const cb = b.summary.header.cipher;
    expect('salt' in ca && 'salt' in cb && ca.salt !== cb.salt && ca.noncePrefix !== cb.noncePrefix).toBe(true);
    expect(a.summary.sha256).not.toBe(b.summary.sha256);
  });

  it('rejects bad writer arguments synchronously with INVALID_ARGUMENT', () => {
    const bad: Array<() => unknown> = [
      () => createBackupWriter({ ...INIT, kind: 'weekly' as never }),
      () => createBackupWriter({ ...INIT, database: '' }),
      () => createBackupWriter({ ...INIT, sequence: 1 }),
      () => createBackupWriter({ ...INIT, kind: 'incremental-snapshot', sequence: 1, baseTxnId: null }),
      () => createBackupWriter({ ...INIT, kind: 'incremental-snapshot', sequence: 1, baseTxnId: 50, snapshotTxnId: 49 }),
      () => createBackupWriter({ ...INIT, pageSize: 3000 }),
      () => createBackupWriter({ ...INIT, snapshotTxnId: -1 }),
      () => createBackupWriter({ ...INIT, meta: { big: 'x'.repeat(2 * 1024 * 1024) } }),
      () => createBackupWriter({ ...INIT, meta: { n: 1n } as never }),
      () => createBackupWriter(INIT, { compression: 'lz4' as never }),
      () => createBackupWriter(INIT, { compression: 'zstd', level: 23 }),
      () => createBackupWriter(INIT, { compression: 'gzip', level: 0 }),
      () => createBackupWriter(INIT, { chunkSize: 1000 }),
      () => createBackupWriter(INIT, { key: { id: 'x' } as never }),
    ];
    for (const make of bad) {
      expect(make).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    }
  });
});
