/**
 * snapshot-file: writing page snapshots into an LMDB data file: `writeSnapshotFile` (straight from a PageSource),
 * `applyPageRecords` (from a page record stream, as a restore will) and the `SnapshotFileWriter` both use.
 *
 * A full snapshot is written into a new sparse file: each page at pgno x pageSize, nothing elsewhere (holes read as
 * zeros; those pages were free in T). An incremental is applied over the file restored at its base. Order, for crash
 * safety: pages, fsync, then the normalized meta pages, fsync. The pages of an incremental never overwrite a page
 * the base's snapshot reaches (copy-on-write writes changed pages to pages that were free at the base), so until
 * the metas are written the file still opens at the base; after they are, at T.
 */
import { constants as fsConstants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

import { ChainMismatchError, DestinationNotEmptyError, InvalidArgumentError, IoError, NotFoundError } from '../errors.js';
import { loadBinding, nativeReadMetaPages } from '../native/binding.js';
import { PageRecordDecoder, type PageStreamHeader } from './page-records.js';
import type { PageSource } from './page-source.js';

/** SnapshotFileMode: 'create' a new data file (refused if it exists) or 'apply' an incremental over an existing one. */
export type SnapshotFileMode = 'create' | 'apply';

/** SnapshotFileWriterOptions: what SnapshotFileWriter.open needs. */
export interface SnapshotFileWriterOptions {
  pageSize: number;
  mode: SnapshotFileMode;
  /**
   * 'apply' only: the txn the existing file must be at (the incremental's base). Its current meta is checked; a
   * mismatch is a ChainMismatchError. Omit to skip the check.
   */
  baseTxnId?: number;
  /**
   * false: skip every fsync (for a file that is made durable later as a whole, such as the intermediate steps of
   * a restore into a temporary folder, which is discarded on failure anyway). Default true.
   */
  durable?: boolean;
  /**
   * Also open the file with O_DIRECT and write long page runs through it, past the page cache (see `writeRuns`).
   * Where the file system refuses O_DIRECT, everything is written as usual. Default false.
   */
  direct?: boolean;
}


/** SnapshotFileResult: what was written. */
export interface SnapshotFileResult {
  txnId: number;
  pagesWritten: number;
  bytesWritten: number;
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? ((err as { code?: unknown }).code as string | undefined) : undefined;
}

/**
 * SnapshotFileWriter: one data file being written. Not safe for concurrent calls: await each before the next.
 * Exactly one of `finish` or `abort` must end it; both close the file.
 */
export class SnapshotFileWriter {
  readonly path: string;
  readonly pageSize: number;
  readonly mode: SnapshotFileMode;
  readonly durable: boolean;
  #file: FileHandle | undefined;
  #pagesWritten = 0;

  #direct: FileHandle | undefined;

  private constructor(path: string, pageSize: number, mode: SnapshotFileMode, file: FileHandle, durable: boolean, direct: FileHandle | undefined) {
    this.path = path;
    this.pageSize = pageSize;
    this.mode = mode;
    this.#file = file;
    this.durable = durable;
    this.#direct = direct;
  }

  /**
   * open: creates `path` ('create'; DestinationNotEmptyError if it exists) or opens it for update ('apply';
   * NotFoundError if missing, ChainMismatchError if its page size or current txn differs from what is expected).
   */
  static async open(path: string, options: SnapshotFileWriterOptions): Promise<SnapshotFileWriter> {
    const { pageSize, mode } = options;
    if (!Number.isInteger(pageSize) || pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
      throw new InvalidArgumentError(`Expected a page size (a power of two in 512..65536) but received ${pageSize}`);
    }
    if (mode === 'apply') {
      const metas = nativeReadMetaPages(path);
      const current = metas.metas[metas.currentSlot === 1 ? 1 : 0];
      if (metas.pageSize !== pageSize) {
        throw new ChainMismatchError(`${path} has ${metas.pageSize}-byte pages, the snapshot ${pageSize}-byte pages`);
      }
      if (options.baseTxnId !== undefined && current.txnId !== options.baseTxnId) {
        throw new ChainMismatchError(
          `${path} is at txn ${current.txnId}, but the incremental applies to txn ${options.baseTxnId}`,
        );
      }
    }
    let file: FileHandle;
    try {
      file = await open(path, mode === 'create' ? 'wx' : 'r+');
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') throw new DestinationNotEmptyError(`${path} already exists`);
      if (errnoOf(err) === 'ENOENT') throw new NotFoundError(`${path} does not exist`, { cause: err });
      throw err;
    }
    let direct: FileHandle | undefined;
    if (options.direct === true && typeof fsConstants.O_DIRECT === 'number') {
      // Not every file system takes O_DIRECT (tmpfs refuses it): then every page goes through `file`.
      direct = await open(path, fsConstants.O_WRONLY | fsConstants.O_DIRECT).catch(() => undefined);
    }
    return new SnapshotFileWriter(path, pageSize, mode, file, options.durable !== false, direct);
  }

  get pagesWritten(): number {
    return this.#pagesWritten;
  }

  /** writePages: writes whole pages starting at page `firstPgno` (>= 2); resolves once they are written. */
  async writePages(firstPgno: number, data: Uint8Array): Promise<void> {
    const file = this.#open();
    if (!Number.isSafeInteger(firstPgno) || firstPgno < 2 || data.length % this.pageSize !== 0) {
      throw new InvalidArgumentError(`cannot write ${data.length} bytes at page ${firstPgno}`);
    }
    // One write at a time: `data` may be a view of a chunk the producer reuses once this resolves.
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await file.write(data, done, data.length - done, firstPgno * this.pageSize + done);
      done += bytesWritten;
    }
    this.#pagesWritten += data.length / this.pageSize;
  }

  /**
   * writeRuns: writes a batch of page runs ([firstPgno, count, ...]; pages back to back in `data`, or one buffer
   * per run) with one native call that pwrites them all on the libuv pool: for the thousands of short runs of an
   * incremental, one thread pool round trip instead of one per run. `data` must not change until this resolves.
   */
  async writeRuns(runs: Float64Array, data: Buffer | Buffer[]): Promise<void> {
    const file = this.#open();
    let pages = 0;
    for (let i = 1; i < runs.length; i += 2) pages += runs[i];
    try {
      await loadBinding().writeRuns(file.fd, runs, data, this.pageSize, this.#direct?.fd);
    } catch (err) {
      throw new IoError(`writing pages into ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    this.#pagesWritten += pages;
  }

  /**
   * reserve: allocates the file's blocks up to page `lastPage` (fallocate, keeping the file's size) before pages
   * are written. On ext4 here, writing 2 GB into a new file's unallocated range cost 1.6–5 s of kernel time, into
   * an allocated one 0.3–0.45 s (dd, same file system). The pages no file writes (free in the snapshot) then
   * read as zeros from allocated blocks instead of being holes. Resolves false where the file system cannot.
   */
  async reserve(lastPage: number): Promise<boolean> {
    const file = this.#open();
    try {
      return await loadBinding().preallocate(file.fd, 0, (lastPage + 1) * this.pageSize, true);
    } catch (err) {
      throw new IoError(`reserving ${(lastPage + 1) * this.pageSize} bytes for ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * finish: makes the pages durable, sizes the file to (lastPage + 1) x pageSize, writes `metaPages` (2 x pageSize)
   * at offset 0, makes that durable and closes the file (and, for 'create', fsyncs its directory).
   */
  async finish(metaPages: Uint8Array, lastPage: number): Promise<void> {
    const file = this.#open();
    if (metaPages.length !== 2 * this.pageSize) {
      throw new InvalidArgumentError(`meta pages must be ${2 * this.pageSize} bytes, got ${metaPages.length}`);
    }
    const sync = async (): Promise<void> => {
      if (this.durable) await file.sync();
    };
    const size = (lastPage + 1) * this.pageSize;
    const before = (await file.stat()).size;
    // Grow before the metas (T needs the room); shrink only after them (the base may still use the tail).
    if (size > before) await file.truncate(size);
    await sync();
    let done = 0;
    while (done < metaPages.length) {
      const { bytesWritten } = await file.write(metaPages, done, metaPages.length - done, done);
      done += bytesWritten;
    }
    await sync();
    if (size < before) {
      await file.truncate(size);
      await sync();
    }
    this.#file = undefined;
    await file.close();
    await this.#closeDirect();
    if (this.mode === 'create' && this.durable) await syncDirectory(dirname(this.path));
  }

  /** abort: closes the file; a file this writer created is removed. Idempotent; never rejects. */
  async abort(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    await file.close().catch(() => undefined);
    await this.#closeDirect();
    if (this.mode === 'create') await unlink(this.path).catch(() => undefined);
  }

  async #closeDirect(): Promise<void> {
    const direct = this.#direct;
    this.#direct = undefined;
    await direct?.close().catch(() => undefined);
  }

  #open(): FileHandle {
    if (this.#file === undefined) throw new Error('SnapshotFileWriter: already finished or aborted');
    return this.#file;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * writeSnapshotFile: writes every batch of `source` into the data file `targetPath`, then its metas (see the top of
 * this module). Mode defaults to 'create' for a full snapshot and 'apply' for an incremental, whose target must be
 * at its base txn. Consumes `source.batches()`; the source is closed when this settles, whatever the outcome. The
 * target is a data file: for a directory environment pass `<dir>/data.mdb`. On failure a file created here is
 * removed, and an incremental applied over its base leaves the base openable (its metas are written last).
 */
export async function writeSnapshotFile(
  source: PageSource,
  targetPath: string,
  options: { mode?: SnapshotFileMode } = {},
): Promise<SnapshotFileResult> {
  const mode = options.mode ?? (source.mode === 'full' ? 'create' : 'apply');
  let writer: SnapshotFileWriter;
  try {
    writer = await SnapshotFileWriter.open(targetPath, {
      pageSize: source.pageSize,
      mode,
      ...(source.baseTxnId > 0 ? { baseTxnId: source.baseTxnId } : {}),
    });
  } catch (err) {
    await source.close();
    throw err;
  }
  try {
    for await (const batch of source.batches()) {
      let offset = 0;
      for (let i = 0; i < batch.runs.length; i += 2) {
        const length = (batch.runs[i + 1] ?? 0) * source.pageSize;
        await writer.writePages(batch.runs[i] ?? 0, batch.data.subarray(offset, offset + length));
        offset += length;
      }
    }
    await writer.finish(source.metaPages, source.lastPage);
  } catch (err) {
    await writer.abort();
    await source.close(); // already closed unless batches() itself refused to start
    throw err;
  }
  return {
    txnId: source.txnId,
    pagesWritten: writer.pagesWritten,
    bytesWritten: writer.pagesWritten * source.pageSize,
  };
}

/**
 * applyPageRecords: decodes a page record stream (page-records.ts) and writes it into `targetPath` like
 * writeSnapshotFile: 'create' for a full snapshot, 'apply' over the file at the base txn for an incremental. Throws
 * the decoder's BackupCorruptError/BackupTruncatedError (a file created here is then removed; an applied
 * incremental leaves its base intact, since its metas are written last) and the writer's errors.
 */
export async function applyPageRecords(
  chunks: AsyncIterable<Uint8Array>,
  targetPath: string,
  options: {
    mode?: SnapshotFileMode;
    durable?: boolean;
    /** Called with each chunk once its pages are written and nothing here refers to it any more. */
    release?: (chunk: Uint8Array) => void;
  } = {},
): Promise<SnapshotFileResult & { header: PageStreamHeader }> {
  let writer: SnapshotFileWriter | undefined;
  let header: PageStreamHeader | undefined;
  let metaPages: Buffer | undefined;
  try {
    await pumpPageRecords(chunks, {
      async begin(h, metas) {
        header = h;
        metaPages = Buffer.from(metas); // the chunk it slices may be reused by the producer
        writer = await SnapshotFileWriter.open(targetPath, {
          pageSize: h.pageSize,
          mode: options.mode ?? (h.baseTxnId === 0 ? 'create' : 'apply'),
          ...(h.baseTxnId > 0 ? { baseTxnId: h.baseTxnId } : {}),
          durable: options.durable,
        });
        if (writer.mode === 'create') await writer.reserve(h.lastPage);
        return writer;
      },
      pages(first, count, data, runs, out) {
        runs.push(first, count);
        out.push(data);
      },
      release: options.release,
    });
    if (writer === undefined || header === undefined || metaPages === undefined) {
      throw new Error('applyPageRecords: decoder finished without BEGIN');
    }
    await writer.finish(metaPages, header.lastPage);
  } catch (err) {
    await writer?.abort();
    throw err;
  }
  return {
    header,
    txnId: header.txnId,
    pagesWritten: writer.pagesWritten,
    bytesWritten: writer.pagesWritten * header.pageSize,
  };
}

/** PageRecordHandlers: what `pumpPageRecords` calls for the records of a page record stream. */
export interface PageRecordHandlers {
  /** The BEGIN record (once, first): returns the writer the pages go to. */
  begin(header: PageStreamHeader, metaPages: Buffer): Promise<SnapshotFileWriter>;
  /** A run of pages (a view of the current chunk): append what to write to `runs` ([first, count, ...]) and `data`. */
  pages(first: number, count: number, data: Buffer, runs: number[], out: Buffer[]): void;
  /** Called with each chunk once its pages are written and nothing here refers to it any more. */
  release?: (chunk: Uint8Array) => void;
}

/**
 * pumpPageRecords: decodes a page record stream chunk by chunk and writes the runs `handlers.pages` chose from each
 * chunk with one native call, straight from the chunk (the decoder's page records are views of it; no copy into a
 * batch buffer). The write is awaited before the next chunk is asked for, so a producer that reuses its chunk once
 * asked for the next one stays safe; a chunk whose tail the decoder still holds (a record cut by the chunk
 * boundary) is released only once the decoder let go of it. Returns the BEGIN header; throws the decoder's
 * BackupCorruptError/BackupTruncatedError.
 */
export async function pumpPageRecords(chunks: AsyncIterable<Uint8Array>, handlers: PageRecordHandlers): Promise<PageStreamHeader> {
  const decoder = new PageRecordDecoder();
  let header: PageStreamHeader | undefined;
  let writer: SnapshotFileWriter | undefined;
  let unreleased: Uint8Array[] = [];
  for await (const chunk of chunks) {
    const runs: number[] = [];
    const data: Buffer[] = [];
    for (const record of decoder.push(chunk)) {
      if (record.type === 'begin') {
        header = record.header;
        writer = await handlers.begin(record.header, record.metaPages);
      } else if (record.type === 'pages') {
        handlers.pages(record.firstPgno, record.count, record.data, runs, data);
      }
    }
    if (runs.length > 0) await (writer as SnapshotFileWriter).writeRuns(Float64Array.from(runs), data);
    const release = handlers.release;
    if (release !== undefined) {
      unreleased.push(chunk);
      unreleased = unreleased.filter((c) => {
        if (decoder.holds(c.buffer)) return true;
        release(c);
        return false;
      });
    }
  }
  decoder.finish();
  if (header === undefined) throw new Error('page record stream finished without BEGIN');
  return header;
}
