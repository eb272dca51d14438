/**
 * page-hash-diff: incrementals of environments whose pages carry no transaction id (LMDB
 * data format 1), where the copy-on-write pruning of the native walk cannot tell old pages
 * from new ones. The fallback: walk the whole snapshot (a full page source), hash every
 * reachable page with xxh64 (xxhash-wasm), and ship only the pages whose hash differs from
 * the base's, or that the base did not have. Its cost grows with the database, not with the
 * change; the result says which path was used.
 *
 * Page hashes travel with the chain: after each backup of such an environment the hashes of
 * every page it reached are stored beside the backup file (`<file>.pagehashes`), and the
 * next incremental compares against the latest. Format: a sequence of (u64 page number,
 * u64 xxh64) pairs, little-endian, in ascending page order; the hash seed is 0.
 */
import { BackupCorruptError } from '../errors.js';
import { xxhash } from '../transforms/checksum.js';
import type { PageBatch, PageSource } from './page-source.js';

/** PageHashes: page number -> xxh64 of the page, for the pages a snapshot reached. */
export type PageHashes = Map<number, bigint>;

/** encodePageHashes: the `.pagehashes` bytes of `hashes` (see the module comment). */
export function encodePageHashes(hashes: PageHashes): Buffer {
  const pgnos = [...hashes.keys()].sort((a, b) => a - b);
  const out = Buffer.allocUnsafe(pgnos.length * 16);
  pgnos.forEach((p, i) => {
    out.writeBigUInt64LE(BigInt(p), i * 16);
    out.writeBigUInt64LE(hashes.get(p)!, i * 16 + 8);
  });
  return out;
}

/** decodePageHashes: the inverse of encodePageHashes; BackupCorruptError for a malformed file. */
export function decodePageHashes(bytes: Buffer, where: string): PageHashes {
  if (bytes.length % 16 !== 0) throw new BackupCorruptError(`${where}: a page hash file is a whole number of 16-byte pairs (it has ${bytes.length} bytes)`);
  const hashes: PageHashes = new Map();
  let last = -1;
  for (let o = 0; o < bytes.length; o += 16) {
    const p = Number(bytes.readBigUInt64LE(o));
    if (p <= last) throw new BackupCorruptError(`${where}: page numbers are not ascending at pair ${o / 16}`);
    last = p;
    hashes.set(p, bytes.readBigUInt64LE(o + 8));
  }
  return hashes;
}

/**
 * hashDiffSource: `full` (a full page source) seen as an incremental on top of `base`
 * (baseTxnId: the base's transaction): batches keep only the pages whose hash is not the
 * base's. `hashes` receives the hash of every page the walk reached, for the next one.
 * Without `base` (a full backup) every page is kept and hashed.
 */
export async function hashDiffSource(full: PageSource, base: { txnId: number; hashes: PageHashes } | undefined, hashes: PageHashes): Promise<PageSource> {
  const api = await xxhash();
  const pageSize = full.pageSize;
  let shipped = 0;
  async function* batches(): AsyncGenerator<PageBatch> {
    for await (const batch of full.batches()) {
      const runs: number[] = [];
      const keep: Buffer[] = [];
      let offset = 0;
      for (let r = 0; r < batch.runs.length; r += 2) {
        const first = batch.runs[r];
        const count = batch.runs[r + 1];
        for (let i = 0; i < count; i++) {
          const page = batch.data.subarray(offset, offset + pageSize);
          offset += pageSize;
          const pgno = first + i;
          const h = api.h64Raw(page, 0n);
          hashes.set(pgno, h);
          if (base && base.hashes.get(pgno) === h) continue;
          // Extend the last kept run when this page follows it.
          const n = runs.length;
          if (n > 0 && runs[n - 2] + runs[n - 1] === pgno) runs[n - 1]++;
          else runs.push(pgno, 1);
          keep.push(page);
        }
      }
      if (keep.length === 0) continue;
      shipped += keep.length;
      yield { runs: Float64Array.from(runs), data: Buffer.concat(keep) };
    }
  }
  return {
    txnId: full.txnId,
    baseTxnId: base ? base.txnId : 0,
    mode: base ? 'incremental' : 'full',
    pageSize: full.pageSize,
    lastPage: full.lastPage,
    format: full.format,
    encrypted: full.encrypted,
    metaPages: full.metaPages,
    transaction: full.transaction,
    get stats() {
      return { ...full.stats, pagesShipped: shipped };
    },
    get closed() {
      return full.closed;
    },
    batches,
    close: () => full.close(),
  };
}
