/**
 * msgpack-writer: a minimal MessagePack writer that appends straight into one growing
 * Buffer. The dataset generator emits documents with it instead of building JS objects and
 * packing them with msgpackr: measured on this 2-core machine, object building plus
 * msgpackr's generic pack cost ~9 µs per default-profile document (a third of it garbage
 * collection), the direct writer about a third of that, and generation speed is a
 * requirement (>= 150k documents/s including the LMDB writes).
 *
 * Objects are written the way lmdb-js's own encoder (msgpackr with records, no shared
 * structures) writes them, so lmdb-js reads generated values exactly like values it wrote:
 * the first object of a shape in a value is `d4 72 <id>` + the array of its keys, then
 * its values; later objects of that shape in the same value are `<id>` + values, with
 * ids 0x40-0x7f assigned in order of first use. (lmdb-js decodes plain msgpack maps as
 * `Map`s, not objects, which is why records are not optional here.) Because record ids
 * use the 0x40-0x7f fixint range, integers 64-127 are written as uint8, as msgpackr does
 * with records on. Other integers use the smallest encoding; non-integers are float64.
 */

const textEncoder = new TextEncoder();

/** PreEncoded: a string already encoded as a complete msgpack str (header + UTF-8). */
export type PreEncoded = Uint8Array;

/** preEncode: the msgpack encoding of string `s`, to copy in with `raw()`. */
export function preEncode(s: string): PreEncoded {
  const w = new MsgpackWriter(s.length * 3 + 8);
  w.str(s);
  return w.buf.slice(0, w.pos);
}

/**
 * Shape: the key list of a record (an object layout). Create once with `shape()` at module
 * level; `record()` writes the definition or the id, whichever the current value needs.
 */
export interface Shape {
  readonly keys: readonly string[];
  /** msgpack array of the keys, pre-encoded. */
  readonly encodedKeys: Uint8Array;
  /** @internal the value generation and id this shape was last defined with. */
  gen: number;
  id: number;
}

/** shape: declare a record layout. */
export function shape(keys: string[]): Shape {
  const w = new MsgpackWriter(256);
  w.arrayHeader(keys.length);
  for (const k of keys) w.str(k);
  return { keys, encodedKeys: w.buf.slice(0, w.pos), gen: -1, id: 0 };
}

/** MsgpackWriter: append-only writer; `pos` is the number of bytes written so far. */
export class MsgpackWriter {
  buf: Buffer;
  pos = 0;
  #gen = 0;
  #nextRecordId = 0;

  /** @param initial a size for a new buffer, or a buffer to reuse (grown, not kept, when too small). */
  constructor(initial: number | Buffer = 1 << 20) {
    // Whole 4 KiB units: ordered-binary's writeKey (index keys are encoded in place) views the buffer through a
    // DataView whose length it rounds up to a multiple of 4, which must not pass the end of the ArrayBuffer.
    this.buf = typeof initial === 'number' ? Buffer.allocUnsafe(Math.ceil(Math.max(1, initial) / 4096) * 4096) : initial;
  }

  /** hex: `n` random lowercase hex digits from `next()` (a uint32 source), as a str. */
  hex(next: () => number, n: number): void {
    this.ensure(n + 2);
    const b = this.buf;
    b[this.pos++] = n < 32 ? 0xa0 | n : 0xd9;
    if (n >= 32) b[this.pos++] = n;
    for (let i = 0; i < n; i += 8) {
      let v = next();
      for (let j = 0; j < 8 && i + j < n; j++) {
        const d = v & 15;
        b[this.pos++] = d < 10 ? 0x30 + d : 0x57 + d;
        v >>>= 4;
      }
    }
  }

  /**
   * beginValue: start a new stored value. Record definitions are per value (a reader sees
   * one value at a time), so shapes are defined again in each.
   */
  beginValue(): void {
    this.#gen++;
    this.#nextRecordId = 0;
  }

  /** record: start an object of layout `s`; write its values next, in key order. */
  record(s: Shape): void {
    if (s.gen === this.#gen) {
      this.ensure(1);
      this.buf[this.pos++] = s.id;
      return;
    }
    if (this.#nextRecordId >= 64) throw new Error('more than 64 record shapes in one value');
    s.gen = this.#gen;
    s.id = 0x40 + this.#nextRecordId++;
    this.ensure(3);
    this.buf[this.pos++] = 0xd4;
    this.buf[this.pos++] = 0x72;
    this.buf[this.pos++] = s.id;
    this.raw(s.encodedKeys);
  }

  /** reset: start over, keeping the buffer. */
  reset(): void {
    this.pos = 0;
  }

  /** ensure: make room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  mapHeader(n: number): void {
    this.ensure(5);
    if (n < 16) this.buf[this.pos++] = 0x80 | n;
    else if (n < 0x10000) {
      this.buf[this.pos++] = 0xde;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdf;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  arrayHeader(n: number): void {
    this.ensure(5);
    if (n < 16) this.buf[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      this.buf[this.pos++] = 0xdc;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdd;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  #strHeader(len: number): void {
    if (len < 32) this.buf[this.pos++] = 0xa0 | len;
    else if (len < 0x100) {
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = len;
    } else if (len < 0x10000) {
      this.buf[this.pos++] = 0xda;
      this.buf.writeUInt16BE(len, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdb;
      this.buf.writeUInt32BE(len, this.pos);
      this.pos += 4;
    }
  }

  /** str: a JS string, UTF-8 encoded. */
  str(s: string): void {
    const n = s.length;
    if (n < 32) {
      // Short strings: encode by hand (as msgpackr does); Buffer#write's per-call cost
      // dominates for the many short values of a document.
      this.ensure(n * 3 + 1);
      const b = this.buf;
      const headerAt = this.pos;
      let p = headerAt + 1;
      for (let i = 0; i < n; i++) {
        let c = s.charCodeAt(i);
        if (c < 0x80) b[p++] = c;
        else if (c < 0x800) {
          b[p++] = 0xc0 | (c >> 6);
          b[p++] = 0x80 | (c & 0x3f);
        } else {
          if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
            const d = s.charCodeAt(i + 1);
            if (d >= 0xdc00 && d <= 0xdfff) {
              c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
              i++;
              b[p++] = 0xf0 | (c >> 18);
              b[p++] = 0x80 | ((c >> 12) & 0x3f);
              b[p++] = 0x80 | ((c >> 6) & 0x3f);
              b[p++] = 0x80 | (c & 0x3f);
              continue;
            }
          }
          // Lone surrogates become U+FFFD, as in Buffer#write and TextEncoder.
          if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
          b[p++] = 0xe0 | (c >> 12);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
        }
      }
      const len = p - headerAt - 1;
      if (len < 32) {
        b[headerAt] = 0xa0 | len;
        this.pos = p;
        return;
      }
      // Up to 93 bytes: needs the 2-byte str8 header; shift the bytes by one.
      b.copyWithin(headerAt + 2, headerAt + 1, p);
      b[headerAt] = 0xd9;
      b[headerAt + 1] = len;
      this.pos = p + 1;
      return;
    }
    const max = n * 3;
    this.ensure(max + 5);
    // Reserve the header for the worst case, then move the bytes if the header is shorter.
    const headerSize = max < 32 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
    const start = this.pos + headerSize;
    const len = this.buf.write(s, start, 'utf8');
    const realHeader = len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
    if (realHeader !== headerSize) this.buf.copyWithin(this.pos + realHeader, start, start + len);
    this.#strHeader(len);
    this.pos += len;
  }

  /** strBytes: a string given as UTF-8 bytes `src[start, end)` (must be valid UTF-8). */
  strBytes(src: Uint8Array, start: number, end: number): void {
    const len = end - start;
    this.ensure(len + 5);
    this.#strHeader(len);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += len;
  }

  /** raw: bytes that are already msgpack (a PreEncoded string, a nested value). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    if (n < 24) {
      // A loop beats TypedArray#set's call overhead for the many short keys.
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) b[p++] = bytes[i];
      this.pos = p;
    } else {
      this.buf.set(bytes, this.pos);
      this.pos += n;
    }
  }

  /**
   * idText: the bytes of a RavenDB-style id `<prefix><n>-A` with no msgpack header (an
   * ordered-binary string key is its UTF-8). `prefix` is ASCII bytes such as `users/`.
   */
  idText(prefix: Uint8Array, n: number): void {
    this.ensure(prefix.length + 13);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < prefix.length; i++) b[p++] = prefix[i];
    p = writeDecimal(b, p, n);
    b[p++] = 0x2d; // '-'
    b[p++] = 0x41; // 'A'
    this.pos = p;
  }

  #strStart = -1;

  /**
   * beginStr / endStr: build one str from pieces (appendBytes, appendAscii, appendDecimal,
   * idText) without making a JS string first. At most 255 bytes in between.
   */
  beginStr(): void {
    this.ensure(2);
    this.#strStart = this.pos;
    this.pos += 2;
  }

  endStr(): void {
    const start = this.#strStart;
    const len = this.pos - start - 2;
    if (len < 32) {
      this.buf[start] = 0xa0 | len;
      this.buf.copyWithin(start + 1, start + 2, this.pos);
      this.pos--;
    } else {
      this.buf[start] = 0xd9;
      this.buf[start + 1] = len;
    }
    this.#strStart = -1;
  }

  /** appendBytes: raw UTF-8 bytes inside beginStr/endStr. */
  appendBytes(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = bytes[i];
    this.pos = p;
  }

  /** appendAscii: one ASCII character code inside beginStr/endStr. */
  appendAscii(code: number): void {
    this.ensure(1);
    this.buf[this.pos++] = code;
  }

  /** appendDecimal: the digits of a non-negative integer inside beginStr/endStr. */
  appendDecimal(n: number): void {
    this.ensure(16);
    this.pos = writeDecimal(this.buf, this.pos, n);
  }

  /** lastText: the text of the last `len` bytes written, decoded as Latin-1 (for ASCII pieces). */
  lastText(len: number): string {
    return this.buf.toString('latin1', this.pos - len, this.pos);
  }

  /** id: the same as a msgpack str. */
  id(prefix: Uint8Array, n: number): void {
    this.ensure(prefix.length + 14);
    const headerAt = this.pos++;
    this.idText(prefix, n);
    const len = this.pos - headerAt - 1;
    if (len < 32) this.buf[headerAt] = 0xa0 | len;
    else {
      this.buf.copyWithin(headerAt + 2, headerAt + 1, this.pos);
      this.buf[headerAt] = 0xd9;
      this.buf[headerAt + 1] = len;
      this.pos++;
    }
  }

  /** bin: binary data (decodes as a Buffer/Uint8Array). */
  bin(bytes: Uint8Array): void {
    const len = bytes.length;
    this.ensure(len + 5);
    if (len < 0x100) {
      this.buf[this.pos++] = 0xc4;
      this.buf[this.pos++] = len;
    } else if (len < 0x10000) {
      this.buf[this.pos++] = 0xc5;
      this.buf.writeUInt16BE(len, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xc6;
      this.buf.writeUInt32BE(len, this.pos);
      this.pos += 4;
    }
    this.buf.set(bytes, this.pos);
    this.pos += len;
  }

  /** num: an integer in the smallest encoding, otherwise float64. */
  num(n: number): void {
    this.ensure(9);
    const b = this.buf;
    if (Number.isInteger(n) && n >= -0x80000000 && n <= 0xffffffff) {
      if (n >= 0) {
        if (n < 0x40) b[this.pos++] = n;
        else if (n < 0x100) {
          b[this.pos++] = 0xcc;
          b[this.pos++] = n;
        } else if (n < 0x10000) {
          b[this.pos++] = 0xcd;
          b.writeUInt16BE(n, this.pos);
          this.pos += 2;
        } else {
          b[this.pos++] = 0xce;
          b.writeUInt32BE(n, this.pos);
          this.pos += 4;
        }
      } else if (n >= -32) b[this.pos++] = n & 0xff;
      else if (n >= -0x80) {
        b[this.pos++] = 0xd0;
        b.writeInt8(n, this.pos++);
      } else if (n >= -0x8000) {
        b[this.pos++] = 0xd1;
        b.writeInt16BE(n, this.pos);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xd2;
        b.writeInt32BE(n, this.pos);
        this.pos += 4;
      }
    } else {
      b[this.pos++] = 0xcb;
      b.writeDoubleBE(n, this.pos);
      this.pos += 8;
    }
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 0xc3 : 0xc2;
  }

  nil(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0xc0;
  }

  /** isoDate: the ISO-8601 text of `ms` (as Date#toISOString gives it), as a str. */
  isoDate(ms: number): void {
    this.ensure(25);
    this.buf[this.pos++] = 0xa0 | 24;
    writeIsoDate(this.buf, this.pos, ms);
    this.pos += 24;
  }
}

/** encodeUtf8: a string's UTF-8 bytes (for keys the writer does not frame). */
export function encodeUtf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

const DAY_MS = 86_400_000;

/**
 * writeIsoDate: write `YYYY-MM-DDTHH:MM:SS.mmmZ` (24 bytes) for `ms` (years 1970-9999) at
 * `buf[at]`. Same text as `new Date(ms).toISOString()`, without allocating; the civil-date
 * conversion is Howard Hinnant's days_from_civil inverse.
 */
export function writeIsoDate(buf: Uint8Array, at: number, ms: number): void {
  const days = Math.floor(ms / DAY_MS);
  let rem = ms - days * DAY_MS;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const hh = Math.floor(rem / 3_600_000);
  rem -= hh * 3_600_000;
  const mm = Math.floor(rem / 60_000);
  rem -= mm * 60_000;
  const ss = Math.floor(rem / 1000);
  const mss = rem - ss * 1000;
  digits(buf, at, y, 4);
  buf[at + 4] = 0x2d;
  digits(buf, at + 5, m, 2);
  buf[at + 7] = 0x2d;
  digits(buf, at + 8, d, 2);
  buf[at + 10] = 0x54;
  digits(buf, at + 11, hh, 2);
  buf[at + 13] = 0x3a;
  digits(buf, at + 14, mm, 2);
  buf[at + 16] = 0x3a;
  digits(buf, at + 17, ss, 2);
  buf[at + 19] = 0x2e;
  digits(buf, at + 20, mss, 3);
  buf[at + 23] = 0x5a;
}

/** writeDecimal: the decimal digits of non-negative integer `v` at `buf[at]`; returns the end. */
function writeDecimal(buf: Uint8Array, at: number, v: number): number {
  let len = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) len++;
  digits(buf, at, v, len);
  return at + len;
}

function digits(buf: Uint8Array, at: number, v: number, n: number): void {
  for (let i = n - 1; i >= 0; i--) {
    buf[at + i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
}
