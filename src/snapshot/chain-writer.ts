/**
 * chain-writer: writes a snapshot chain (a full and its incrementals) into one new data file, newest file first.
 *
 * Applying the files oldest first writes every page each file carries, so a page changed by several incrementals
 * is written several times, and every page an incremental changed was first written by the full: a small chain of
 * a full and 10 incrementals wrote 324 MB for a 197 MB database, and writing into the page cache is a large part
 * of a restore's cost (the kernel's copy was 30% of a medium restore's CPU). Newest first, each page is written
 * once, from the newest file that holds it; the pages older files hold and a newer one replaced are skipped. The
 * result is the same file: every page holds its content from the newest file that has it, pages no file holds
 * stay holes, and nothing lies past the newest file's last page.
 *
 * The file only opens as a database once `finish` wrote the newest file's metas, so it must be written where a
 * failure discards it (a restore's temporary folder). Use `applyPageRecords` to apply one incremental over a file
 * that must stay openable at every step.
 */
import { ChainMismatchError } from '../errors.js';
import type { PageStreamHeader } from './page-records.js';
import { pumpPageRecords, SnapshotFileWriter } from './snapshot-file.js';

/** ChainFileResult: what one file of the chain contributed. */
export interface ChainFileResult {
  header: PageStreamHeader;
  /** Pages the file holds. */
  pages: number;
  /** Pages written from it (the others were replaced by a newer file, or lie past the newest file's last page). */
  pagesWritten: number;
}

/**
 * ChainWriter: see the module comment. Feed the files newest first with `addFile`, one at a time, then `finish`
 * (or `abort`). Each file must be the predecessor of the one before it: its transaction is the previous file's
 * base (ChainMismatchError otherwise), with the same page size.
 */
export class ChainWriter {
  readonly path: string;
  #writer: SnapshotFileWriter | undefined;
  #newest: { header: PageStreamHeader; metaPages: Buffer } | undefined;
  #previous: PageStreamHeader | undefined;
  /** Bit per page of the newest file: set once a newer file wrote that page. */
  #written: Uint8Array = new Uint8Array(0);

  constructor(path: string) {
    this.path = path;
  }

  /**
   * addFile: decodes one file's page record stream and writes the pages no newer file replaced. `release` is called
   * with each chunk once nothing here refers to it any more (see `pumpPageRecords`).
   */
  async addFile(chunks: AsyncIterable<Uint8Array>, release?: (chunk: Uint8Array) => void): Promise<ChainFileResult> {
    let pages = 0;
    let pagesWritten = 0;
    const header = await pumpPageRecords(chunks, {
      begin: async (h, metaPages) => {
        await this.#begin(h, metaPages);
        return this.#writer as SnapshotFileWriter;
      },
      pages: (first, count, data, runs, out) => {
        pages += count;
        pagesWritten += this.#unwritten(first, count, data, runs, out);
      },
      release,
    });
    this.#previous = header;
    return { header, pages, pagesWritten };
  }

  /** finish: sizes the file to the newest file's last page, writes its metas and makes it all durable. */
  async finish(): Promise<void> {
    if (this.#writer === undefined || this.#newest === undefined) throw new Error('ChainWriter: no file was added');
    await this.#writer.finish(this.#newest.metaPages, this.#newest.header.lastPage);
  }

  /** abort: closes and removes the file. Never rejects. */
  async abort(): Promise<void> {
    await this.#writer?.abort();
  }

  async #begin(header: PageStreamHeader, metaPages: Buffer): Promise<void> {
    const previous = this.#previous;
    if (previous === undefined) {
      this.#newest = { header, metaPages: Buffer.from(metaPages) }; // the chunk it slices may be reused
      this.#written = new Uint8Array(Math.ceil((header.lastPage + 1) / 8));
      // Direct: the full's long runs go past the page cache (see SnapshotFileWriter's `direct`); the scattered
      // pages of incrementals stay buffered.
      this.#writer = await SnapshotFileWriter.open(this.path, { pageSize: header.pageSize, mode: 'create', direct: true });
      // Newest first, the first writes land all over the file: allocate it whole before any of them.
      await this.#writer.reserve(header.lastPage);
      return;
    }
    if (header.pageSize !== previous.pageSize) {
      throw new ChainMismatchError(`chain file has ${header.pageSize}-byte pages, its successor ${previous.pageSize}-byte pages`);
    }
    if (header.txnId !== previous.baseTxnId) {
      throw new ChainMismatchError(`chain file is at txn ${header.txnId}, but its successor applies to txn ${previous.baseTxnId}`);
    }
  }

  /**
   * #unwritten: appends to runs/data the parts of a page run no newer file wrote (and not past the newest file's
   * last page), marks the whole run written, and returns how many pages it appended.
   */
  #unwritten(first: number, count: number, bytes: Buffer, runs: number[], data: Buffer[]): number {
    const written = this.#written;
    const pageSize = (this.#newest as { header: PageStreamHeader }).header.pageSize;
    const end = Math.min(first + count, (this.#newest as { header: PageStreamHeader }).header.lastPage + 1);
    let appended = 0;
    let start = -1;
    for (let p = first; p <= end; p++) {
      const taken = p === end || (written[Math.floor(p / 8)] & (1 << p % 8)) !== 0;
      if (!taken && start < 0) start = p;
      if (taken && start >= 0) {
        runs.push(start, p - start);
        data.push(bytes.subarray((start - first) * pageSize, (p - first) * pageSize));
        appended += p - start;
        start = -1;
      }
      if (p < end) written[Math.floor(p / 8)] |= 1 << p % 8;
    }
    return appended;
  }
}
