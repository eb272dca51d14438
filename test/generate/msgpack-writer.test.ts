import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MsgpackWriter, writeIsoDate } from '../../src/generate/msgpack-writer.js';
import { Rng } from '../../src/generate/prng.js';

function roundTrip(write: (w: MsgpackWriter) => void): unknown {
  const w = new MsgpackWriter(16);
  write(w);
  return unpack(w.buf.subarray(0, w.pos));
}

describe('MsgpackWriter', () => {
  it('writes strings that msgpackr decodes to the same text, across header sizes and scripts', () => {
    const samples = ['', 'a', 'x'.repeat(31), 'é'.repeat(16), 'é'.repeat(40), 'ab😀cd', '王芳 Дмитрий', 'y'.repeat(300), 'z'.repeat(70_000), '\u{1F600}'.repeat(10)];
    for (const s of samples) expect(roundTrip((w) => w.str(s))).toBe(s);
    // A lone surrogate becomes U+FFFD, as in Buffer#write.
    expect(roundTrip((w) => w.str('a\ud800b'))).toBe('a\ufffdb');
  });

  it('writes numbers in every width and floats exactly', () => {
    const nums = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -1.25, 1e300, Number.MAX_SAFE_INTEGER];
    for (const n of nums) expect(roundTrip((w) => w.num(n))).toBe(n);
  });

  it('writes maps, arrays, binary, booleans, nil, ids and built strings', () => {
    const value = roundTrip((w) => {
      w.mapHeader(6);
      w.str('list');
      w.arrayHeader(3);
      w.bool(true);
      w.bool(false);
      w.nil();
      w.str('bin');
      w.bin(Uint8Array.from([1, 2, 3]));
      w.str('id');
      w.id(new TextEncoder().encode('users/'), 1234);
      w.str('built');
      w.beginStr();
      w.appendDecimal(42);
      w.appendAscii(0x20);
      w.appendBytes(new TextEncoder().encode('Straße'));
      w.endStr();
      w.str('long');
      w.beginStr();
      for (let i = 0; i < 40; i++) w.appendAscii(0x61);
      w.endStr();
      w.str('big');
      w.arrayHeader(20);
      for (let i = 0; i < 20; i++) w.num(i);
    });
    expect(value).toEqual({
      list: [true, false, null],
      bin: Buffer.from([1, 2, 3]),
      id: 'users/1234-A',
      built: '42 Straße',
      long: 'a'.repeat(40),
      big: Array.from({ length: 20 }, (_, i) => i),
    });
  });

  it('writes ISO dates exactly as Date#toISOString does', () => {
    const rng = new Rng(7);
    const buf = new Uint8Array(24);
    const cases = [0, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 11, 31), Date.UTC(2100, 2, 1, 1, 2, 3, 4)];
    for (let i = 0; i < 2000; i++) cases.push(Math.floor(rng.float() * Date.UTC(2200, 0, 1)));
    for (const ms of cases) {
      writeIsoDate(buf, 0, ms);
      expect(Buffer.from(buf).toString('latin1')).toBe(new Date(ms).toISOString());
    }
  });
});
