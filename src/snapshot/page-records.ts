/**
 * page-records: the page record stream, version 1: the plaintext payload of a page snapshot, before compression and
 * encryption turn it into a backup file. Pure functions and classes; no I/O.
 *
 * Layout. All integers are little-endian; u64 values are below 2^53. The stream is a sequence of records, each
 * starting with a one-byte type:
 *
 * BEGIN (type 1): exactly once, first.
 *   offset  size           field
 *   0       1              type = 1
 *   1       1              stream version = 1
 *   2       2              LMDB data version of the environment (1 or 2)
 *   4       4              page size in bytes (a power of two in 512..65536)
 *   8       8              txnId: T, the snapshot's transaction
 *   16      8              baseTxnId: 0 for a full snapshot, else the base an incremental applies to (<= T)
 *   24      8              lastPage: T's mm_last_pg; the restored data file is (lastPage + 1) x pageSize bytes
 *   32      4              flags: bit 0 = encrypted environment (pages are lmdb-js ciphertext); other bits 0
 *   36      4              reserved, 0
 *   40      2 x pageSize   the normalized meta pages 0 and 1 for T (PageSource.metaPages)
 *
 * RUN (type 2): zero or more, in strictly ascending page order, never overlapping (adjacent runs may touch).
 *   0       1              type = 2
 *   1       8              firstPgno (>= 2)
 *   9       4              count (>= 1; firstPgno + count - 1 <= lastPage)
 *   13      count x pageSize   the pages' bytes, page firstPgno first
 *
 * END (type 3): exactly once, last; nothing may follow it.
 *   0       1              type = 3
 *   1       8              number of RUN records
 *   9       8              total pages in RUN records
 *
 * Decisions:
 * - The page size and T travel in BEGIN, so the payload is self-describing: a restore needs nothing but these bytes
 *   (after decryption and decompression), and it can refuse a payload that does not match the file header or the
 *   chain it is applied to. The backup file header may repeat them so that listing needs no decryption.
 * - Pages are written at pgno x pageSize; pages no RUN mentions are zero in a full restore (they were free in T) and
 *   are left untouched when an incremental is applied over its base. Metas are applied last.
 * - END carries totals so that a stream cut at a record boundary is detected as truncated, not taken as complete.
 * - Integrity (checksums, authentication) is the job of the layers around this stream, not of the records.
 */
import { BackupCorruptError, BackupTruncatedError } from '../errors.js';
import type { PageBatch } from './page-source.js';

/** PAGE_RECORDS_VERSION: the stream version BEGIN carries. */
export const PAGE_RECORDS_VERSION = 1;

export const RECORD_BEGIN = 1;
export const RECORD_RUN = 2;
export const RECORD_END = 3;

const BEGIN_HEADER_SIZE = 40;
const RUN_HEADER_SIZE = 13;
const END_SIZE = 17;
const FLAG_ENCRYPTED = 1;

/** PageStreamHeader: the fixed fields of BEGIN. */
export interface PageStreamHeader {
  dataVersion: 1 | 2;
  pageSize: number;
  txnId: number;
  baseTxnId: number;
  lastPage: number;
  encrypted: boolean;
}

/** PageRecord: what the decoder emits. A RUN record may arrive as several consecutive `pages` pieces. */
export type PageRecord =
  | { type: 'begin'; header: PageStreamHeader; metaPages: Buffer }
  | { type: 'pages'; firstPgno: number; count: number; data: Buffer }
  | { type: 'end'; runs: number; pages: number };

function isPageSize(value: number): boolean {
  return Number.isInteger(value) && value >= 512 && value <= 65536 && (value & (value - 1)) === 0;
}

function writeU64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeBigUInt64LE(BigInt(value), offset);
}

function readU64(buffer: Buffer, offset: number, what: string): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new BackupCorruptError(`page stream: ${what} exceeds 2^53`);
  return Number(value);
}

function checkHeader(header: PageStreamHeader): void {
  if (header.dataVersion !== 1 && header.dataVersion !== 2) throw new RangeError('dataVersion must be 1 or 2');
  if (!isPageSize(header.pageSize)) throw new RangeError(`invalid page size ${header.pageSize}`);
  for (const [name, value] of [
    ['txnId', header.txnId],
    ['baseTxnId', header.baseTxnId],
    ['lastPage', header.lastPage],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a safe integer >= 0`);
  }
  if (header.baseTxnId > header.txnId) throw new RangeError('baseTxnId must not exceed txnId');
  if (header.lastPage < 1 || (header.lastPage + 1) * header.pageSize > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`invalid lastPage ${header.lastPage}`);
  }
}

/**
 * PageRecordEncoder: turns one snapshot into records. Call `begin` once, `batch` for each PageBatch in order, then
 * `end` once; each returns the buffers to write, in order. Page bytes are not copied: RUN records reference slices
 * of the batch's `data`. Throws RangeError when called out of order or with runs that are not ascending, out of
 * 2..lastPage, or do not match the data's length.
 */
export class PageRecordEncoder {
  readonly header: PageStreamHeader;
  #state: 'new' | 'running' | 'ended' = 'new';
  #nextPage = 2;
  #runs = 0;
  #pages = 0;

  constructor(header: PageStreamHeader) {
    checkHeader(header);
    this.header = { ...header };
  }

  /** begin: the BEGIN record, with `metaPages` (2 x pageSize bytes). */
  begin(metaPages: Uint8Array): Buffer[] {
    if (this.#state !== 'new') throw new RangeError('PageRecordEncoder.begin: called twice');
    if (metaPages.length !== 2 * this.header.pageSize) {
      throw new RangeError(`metaPages must be ${2 * this.header.pageSize} bytes, got ${metaPages.length}`);
    }
    this.#state = 'running';
    const head = Buffer.alloc(BEGIN_HEADER_SIZE);
    head.writeUInt8(RECORD_BEGIN, 0);
    head.writeUInt8(PAGE_RECORDS_VERSION, 1);
    head.writeUInt16LE(this.header.dataVersion, 2);
    head.writeUInt32LE(this.header.pageSize, 4);
    writeU64(head, this.header.txnId, 8);
    writeU64(head, this.header.baseTxnId, 16);
    writeU64(head, this.header.lastPage, 24);
    head.writeUInt32LE(this.header.encrypted ? FLAG_ENCRYPTED : 0, 32);
    return [head, Buffer.from(metaPages.buffer, metaPages.byteOffset, metaPages.byteLength)];
  }

  /** batch: one RUN record per run of `batch`. */
  batch(batch: PageBatch): Buffer[] {
    if (this.#state !== 'running') throw new RangeError('PageRecordEncoder.batch: begin() first, end() last');
    const { runs, data } = batch;
    const { pageSize, lastPage } = this.header;
    if (runs.length % 2 !== 0) throw new RangeError('runs must hold [firstPgno, count] pairs');
    const out: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < runs.length; i += 2) {
      const first = runs[i] ?? 0;
      const count = runs[i + 1] ?? 0;
      if (!Number.isSafeInteger(first) || !Number.isInteger(count) || count < 1 || count > 0xffffffff) {
        throw new RangeError(`invalid run ${first}+${count}`);
      }
      if (first < this.#nextPage || first + count - 1 > lastPage) {
        throw new RangeError(`run ${first}+${count} is not ascending within 2..${lastPage}`);
      }
      const length = count * pageSize;
      if (offset + length > data.length) throw new RangeError('batch data is shorter than its runs');
      const head = Buffer.alloc(RUN_HEADER_SIZE);
      head.writeUInt8(RECORD_RUN, 0);
      writeU64(head, first, 1);
      head.writeUInt32LE(count, 9);
      out.push(head, data.subarray(offset, offset + length));
      offset += length;
      this.#nextPage = first + count;
      this.#runs += 1;
      this.#pages += count;
    }
    if (offset !== data.length) throw new RangeError('batch data is longer than its runs');
    return out;
  }

  /** end: the END record with the totals. */
  end(): Buffer[] {
    if (this.#state !== 'running') throw new RangeError('PageRecordEncoder.end: begin() first, end() once');
    this.#state = 'ended';
    const record = Buffer.alloc(END_SIZE);
    record.writeUInt8(RECORD_END, 0);
    writeU64(record, this.#runs, 1);
    writeU64(record, this.#pages, 9);
    return [record];
  }
}

/** PageRecordSource: what encodePageRecords reads: a PageSource or anything shaped like one. */
export interface PageRecordSource {
  readonly txnId: number;
  readonly baseTxnId: number;
  readonly pageSize: number;
  readonly lastPage: number;
  readonly format: { dataVersion: 1 | 2 };
  readonly encrypted: boolean;
  readonly metaPages: Buffer;
  batches(): AsyncIterable<PageBatch>;
}

/** encodePageRecords: the whole record stream of `source`, as buffers (page bytes not copied). Consumes batches(). */
export async function* encodePageRecords(source: PageRecordSource): AsyncGenerator<Buffer> {
  const encoder = new PageRecordEncoder({
    dataVersion: source.format.dataVersion,
    pageSize: source.pageSize,
    txnId: source.txnId,
    baseTxnId: source.baseTxnId,
    lastPage: source.lastPage,
    encrypted: source.encrypted,
  });
  yield* encoder.begin(source.metaPages);
  for await (const batch of source.batches()) yield* encoder.batch(batch);
  yield* encoder.end();
}

/**
 * PageRecordDecoder: the streaming inverse of PageRecordEncoder. Feed it chunks cut anywhere with `push`; it returns
 * the records completed so far. Page data comes out in whole pages, as slices of the input chunks where a piece lies
 * inside one chunk (so keep chunks immutable) and as copies where a page straddles chunks. Call `finish` after the
 * last chunk. Throws BackupCorruptError for anything the layout above forbids and BackupTruncatedError from `finish`
 * when the stream stops before END; after a throw the decoder is unusable.
 */
export class PageRecordDecoder {
  #chunks: Buffer[] = [];
  #available = 0;
  #header: PageStreamHeader | undefined;
  #ended = false;
  #failed = false;
  // The RUN record being read: its next page and how many remain.
  #runNext = 0;
  #runRemaining = 0;
  #nextPage = 2;
  #runs = 0;
  #pages = 0;

  /** The BEGIN fields, once read. */
  get header(): PageStreamHeader | undefined {
    return this.#header;
  }

  push(chunk: Uint8Array): PageRecord[] {
    if (this.#failed) throw new BackupCorruptError('page stream: decoder used after an error');
    if (chunk.length === 0) return [];
    if (this.#ended) return this.#fail('page stream: bytes after the END record');
    this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#available += chunk.length;
    const out: PageRecord[] = [];
    try {
      while (this.#step(out));
    } catch (err) {
      this.#failed = true;
      throw err;
    }
    return out;
  }

  /** holds: whether bytes of `buffer` are still queued here, undecoded (their records are yet to come). */
  holds(buffer: ArrayBufferLike): boolean {
    return this.#chunks.some((chunk) => chunk.buffer === buffer);
  }

  /** finish: throws BackupTruncatedError unless the stream ended with END and nothing after it. */
  finish(): void {
    if (this.#failed) throw new BackupCorruptError('page stream: decoder used after an error');
    if (!this.#ended) {
      this.#failed = true;
      throw new BackupTruncatedError(
        this.#header === undefined
          ? 'page stream ends before its BEGIN record'
          : `page stream ends before its END record (${this.#pages} pages in ${this.#runs} runs read)`,
      );
    }
  }

  #fail(message: string): never {
    this.#failed = true;
    throw new BackupCorruptError(message);
  }

  /** #take: the next `size` bytes, zero-copy when they lie in the first chunk. Caller checked #available. */
  #take(size: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= size) {
      const taken = first.subarray(0, size);
      if (first.length === size) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(size);
      this.#available -= size;
      return taken;
    }
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.#chunks[0] as Buffer;
      const n = Math.min(chunk.length, size - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
    }
    this.#available -= size;
    return out;
  }

  /** #peek: the next `size` bytes without consuming them (copied only when they span chunks). */
  #peek(size: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= size) return first.subarray(0, size);
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    for (const chunk of this.#chunks) {
      if (filled === size) break;
      filled += chunk.copy(out, filled, 0, Math.min(chunk.length, size - filled));
    }
    return out;
  }

  #peekType(): number {
    return (this.#chunks[0] as Buffer)[0] as number;
  }

  /** #step: decodes what it can; false when more input is needed. */
  #step(out: PageRecord[]): boolean {
    if (this.#runRemaining > 0) return this.#stepPages(out);
    if (this.#available === 0 || this.#ended) {
      if (this.#ended && this.#available > 0) this.#fail('page stream: bytes after the END record');
      return false;
    }
    const type = this.#peekType();
    if (this.#header === undefined && type !== RECORD_BEGIN) {
      this.#fail(`page stream: starts with record type ${type}, expected BEGIN`);
    }
    switch (type) {
      case RECORD_BEGIN:
        return this.#stepBegin(out);
      case RECORD_RUN:
        return this.#stepRunHeader();
      case RECORD_END:
        return this.#stepEnd(out);
      default:
        this.#fail(`page stream: unknown record type ${type}`);
    }
  }

  #stepBegin(out: PageRecord[]): boolean {
    if (this.#header !== undefined) this.#fail('page stream: a second BEGIN record');
    if (this.#available < BEGIN_HEADER_SIZE) return false;
    const head = this.#peek(BEGIN_HEADER_SIZE);
    const version = head.readUInt8(1);
    if (version !== PAGE_RECORDS_VERSION) this.#fail(`page stream: version ${version} is not supported`);
    const dataVersion = head.readUInt16LE(2);
    const pageSize = head.readUInt32LE(4);
    const txnId = readU64(head, 8, 'txnId');
    const baseTxnId = readU64(head, 16, 'baseTxnId');
    const lastPage = readU64(head, 24, 'lastPage');
    const flags = head.readUInt32LE(32);
    const reserved = head.readUInt32LE(36);
    if (dataVersion !== 1 && dataVersion !== 2) this.#fail(`page stream: LMDB data version ${dataVersion}`);
    if (!isPageSize(pageSize)) this.#fail(`page stream: page size ${pageSize}`);
    if ((flags & ~FLAG_ENCRYPTED) !== 0 || reserved !== 0) this.#fail('page stream: unknown BEGIN flags');
    if (baseTxnId > txnId) this.#fail(`page stream: base txn ${baseTxnId} is newer than txn ${txnId}`);
    if (lastPage < 1 || (lastPage + 1) * pageSize > Number.MAX_SAFE_INTEGER) {
      this.#fail(`page stream: last page ${lastPage}`);
    }
    if (this.#available < BEGIN_HEADER_SIZE + 2 * pageSize) return false;
    this.#take(BEGIN_HEADER_SIZE);
    const metaPages = this.#take(2 * pageSize);
    this.#header = {
      dataVersion: dataVersion === 1 ? 1 : 2,
      pageSize,
      txnId,
      baseTxnId,
      lastPage,
      encrypted: (flags & FLAG_ENCRYPTED) !== 0,
    };
    out.push({ type: 'begin', header: { ...this.#header }, metaPages });
    return true;
  }

  #stepRunHeader(): boolean {
    if (this.#available < RUN_HEADER_SIZE) return false;
    const head = this.#take(RUN_HEADER_SIZE);
    const first = readU64(head, 1, 'first page');
    const count = head.readUInt32LE(9);
    const lastPage = (this.#header as PageStreamHeader).lastPage;
    if (count < 1 || first < this.#nextPage || first + count - 1 > lastPage) {
      this.#fail(`page stream: run ${first}+${count} is not ascending within 2..${lastPage}`);
    }
    this.#runNext = first;
    this.#runRemaining = count;
    this.#nextPage = first + count;
    this.#runs += 1;
    this.#pages += count;
    return true;
  }

  #stepPages(out: PageRecord[]): boolean {
    const pageSize = (this.#header as PageStreamHeader).pageSize;
    const first = this.#chunks[0];
    if (first === undefined) return false;
    let count = Math.min(this.#runRemaining, Math.floor(first.length / pageSize));
    if (count === 0) {
      if (this.#available < pageSize) return false;
      count = 1; // a page straddling chunks: copied
    }
    const data = this.#take(count * pageSize);
    out.push({ type: 'pages', firstPgno: this.#runNext, count, data });
    this.#runNext += count;
    this.#runRemaining -= count;
    return true;
  }

  #stepEnd(out: PageRecord[]): boolean {
    if (this.#available < END_SIZE) return false;
    const record = this.#take(END_SIZE);
    const runs = readU64(record, 1, 'run count');
    const pages = readU64(record, 9, 'page count');
    if (runs !== this.#runs || pages !== this.#pages) {
      this.#fail(
        `page stream: END says ${pages} pages in ${runs} runs, the stream had ${this.#pages} in ${this.#runs}`,
      );
    }
    this.#ended = true;
    out.push({ type: 'end', runs, pages });
    if (this.#available > 0) this.#fail('page stream: bytes after the END record');
    return false;
  }
}

/** decodePageRecords: decodes a chunked stream with PageRecordDecoder; throws as it does, including on truncation. */
export async function* decodePageRecords(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<PageRecord> {
  const decoder = new PageRecordDecoder();
  for await (const chunk of chunks) yield* decoder.push(chunk);
  decoder.finish();
}
