import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { generateKeyFile, keyId, keyMaterial, loadKey, SCRYPT_DEFAULTS } from '../../src/keys/keys.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pv-keys-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keys', () => {
  it('generateKeyFile writes one line of base64 of 32 random bytes, mode 0600, and refuses to overwrite', async () => {
    const path = join(dir, 'backup.key');
    const key = await generateKeyFile(path);
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(Buffer.from(text.trim(), 'base64').length).toBe(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(key.source).toBe('file');
    expect((await loadKey({ file: path })).id).toBe(key.id);
    await expect(generateKeyFile(path)).rejects.toMatchObject({ code: ErrorCodes.DESTINATION_NOT_EMPTY });
    expect(readFileSync(path, 'utf8')).toBe(text);
    const second = await generateKeyFile(join(dir, 'other.key'));
    expect(second.id).not.toBe(key.id);
    await expect(generateKeyFile(join(dir, 'no-such-dir', 'k.key'))).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
  });

  it('keyId is the first 16 bytes of HMAC-SHA256(key, "pagevault key id"), hex', () => {
    const raw = Buffer.alloc(32, 9);
    expect(keyId(raw)).toBe(createHmac('sha256', raw).update('pagevault key id').digest().subarray(0, 16).toString('hex'));
    expect(keyId(raw)).toMatch(/^[0-9a-f]{32}$/);
    expect(keyId(Buffer.alloc(32, 10))).not.toBe(keyId(raw));
  });

  it('loadKey from a file, an environment variable and raw bytes give the same key', async () => {
    const raw = Buffer.alloc(32, 0x5c);
    const path = join(dir, 'same.key');
    writeFileSync(path, `  ${raw.toString('base64')}\r\n`);
    process.env.PAGEVAULT_TEST_KEY = raw.toString('base64');
    try {
      const fromFile = await loadKey({ file: path });
      const fromEnv = await loadKey({ env: 'PAGEVAULT_TEST_KEY' });
      const fromRaw = await loadKey({ raw });
      expect(fromFile.id).toBe(keyId(raw));
      expect(fromEnv.id).toBe(keyId(raw));
      expect(fromRaw.id).toBe(keyId(raw));
      expect(keyMaterial(fromEnv).equals(raw)).toBe(true);
      expect([fromFile.source, fromEnv.source, fromRaw.source]).toEqual(['file', 'env', 'raw']);
      expect(fromFile.kdf).toBeNull();
    } finally {
      delete process.env.PAGEVAULT_TEST_KEY;
    }
  });

  it('loadKey rejects bad sources with stable codes', async () => {
    writeFileSync(join(dir, 'short.key'), Buffer.alloc(16).toString('base64'));
    writeFileSync(join(dir, 'junk.key'), 'not base64 at all!\n');
    await expect(loadKey({ file: join(dir, 'missing.key') })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(loadKey({ file: join(dir, 'short.key') })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(loadKey({ file: join(dir, 'junk.key') })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(loadKey({ env: 'PAGEVAULT_SURELY_UNSET_VARIABLE' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(loadKey({ raw: Buffer.alloc(31) })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(loadKey({ passphrase: '' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(loadKey({ passphrase: 'x', scrypt: { N: 1000 } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(loadKey({ passphrase: 'x', scrypt: { N: 2 ** 24 } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(loadKey({} as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('a passphrase uses scrypt N=2^17, r=8, p=1 with a random 16-byte salt by default, off the event loop', async () => {
    let settled = false;
    const pending = loadKey({ passphrase: 'hunter2' }).then((key) => {
      settled = true;
      return key;
    });
    // crypto.scrypt runs in the libuv pool: the event loop keeps turning while it works.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    const key = await pending;
    expect(key.source).toBe('passphrase');
    expect(key.kdf).toMatchObject({ name: 'scrypt', ...SCRYPT_DEFAULTS });
    expect(Buffer.from(key.kdf!.salt, 'base64').length).toBe(16);
    expect(SCRYPT_DEFAULTS).toEqual({ N: 131072, r: 8, p: 1 });
  });

  it('forKdf re-derives a passphrase key for another salt; the same passphrase and salt give the same id', async () => {
    const a = await loadKey({ passphrase: 'pässword', scrypt: { N: 1024 } });
    // NFC normalisation: a decomposed "ä" is the same passphrase.
    const b = await loadKey({ passphrase: 'pa\u0308ssword', scrypt: { N: 1024 } });
    expect(a.kdf!.salt).not.toBe(b.kdf!.salt);
    expect(a.id).not.toBe(b.id);
    expect((await b.forKdf(a.kdf)).id).toBe(a.id);
    expect(await a.forKdf(a.kdf)).toBe(a);
    const fileKey = await loadKey({ raw: Buffer.alloc(32, 1) });
    expect(await fileKey.forKdf(a.kdf)).toBe(fileKey);
    await expect(a.forKdf({ name: 'scrypt', N: 2 ** 30, r: 8, p: 1, salt: a.kdf!.salt })).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED_BACKUP });
  });

  it('a LoadedKey does not reveal its key bytes when logged or serialised', async () => {
    const raw = Buffer.alloc(32, 0x7e);
    const key = await loadKey({ raw });
    const b64 = raw.toString('base64');
    const hex = raw.toString('hex');
    for (const text of [JSON.stringify(key), inspect(key, { showHidden: true, depth: 5 }), String(Object.keys(key))]) {
      expect(text).not.toContain(b64);
      expect(text).not.toContain(hex);
      expect(text).not.toContain('126,126,126');
    }
    expect(JSON.parse(JSON.stringify(key))).toEqual({ source: 'raw', id: key.id, kdf: null });
  });
});
