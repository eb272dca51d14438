import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { ChunkAead, deriveFileKey, newFileCipherParams } from '../../src/transforms/encrypt.js';
import { testData } from '../format/helpers.js';

const master = Buffer.alloc(32, 3);
const headerHash = Buffer.alloc(32, 4);

function aead(hash = headerHash, params = newFileCipherParams()): ChunkAead {
  return new ChunkAead(deriveFileKey(master, params.salt), params.noncePrefix, hash);
}

describe('chunked AES-256-GCM', () => {
  it('seals and opens chunks; ciphertext has the plaintext length and a 16-byte tag', () => {
    const params = newFileCipherParams();
    const a = aead(headerHash, params);
    const plain = testData(100_000);
    const sealed = a.seal(5, 0, plain);
    expect(sealed.ciphertext.length).toBe(plain.length);
    expect(sealed.tag.length).toBe(16);
    expect(sealed.ciphertext.equals(plain)).toBe(false);
    expect(aead(headerHash, params).open(5, 0, sealed.ciphertext, sealed.tag).equals(plain)).toBe(true);
    const empty = a.seal(0, 1, Buffer.alloc(0));
    expect(a.open(0, 1, empty.ciphertext, empty.tag).length).toBe(0);
  });

  it('binds the chunk index, the flags and the header hash: any mismatch fails with BACKUP_CORRUPT', () => {
    const params = newFileCipherParams();
    const a = aead(headerHash, params);
    const plain = testData(5000);
    const { ciphertext, tag } = a.seal(7, 0, plain);
    const fail = (f: () => unknown): void => expect(f).toThrow(expect.objectContaining({ code: ErrorCodes.BACKUP_CORRUPT }));
    fail(() => a.open(8, 0, ciphertext, tag));
    fail(() => a.open(7, 1, ciphertext, tag));
    fail(() => aead(Buffer.alloc(32, 5), params).open(7, 0, ciphertext, tag));
    fail(() => aead(headerHash).open(7, 0, ciphertext, tag)); // another file: other salt and nonce prefix
    const flipped = Buffer.from(ciphertext);
    flipped[100] ^= 1;
    fail(() => a.open(7, 0, flipped, tag));
    const badTag = Buffer.from(tag);
    badTag[15] ^= 0x80;
    fail(() => a.open(7, 0, ciphertext, badTag));
    fail(() => a.open(7, 0, ciphertext.subarray(0, ciphertext.length - 1), tag));
  });

  it('uses a distinct nonce per chunk and a distinct key per file salt', () => {
    const params = newFileCipherParams();
    const a = aead(headerHash, params);
    const plain = Buffer.alloc(64);
    expect(a.seal(0, 0, plain).ciphertext.equals(a.seal(1, 0, plain).ciphertext)).toBe(false);
    expect(deriveFileKey(master, params.salt).equals(deriveFileKey(master, newFileCipherParams().salt))).toBe(false);
    expect(deriveFileKey(master, params.salt).equals(deriveFileKey(master, params.salt))).toBe(true);
  });
});
