// ChainWriter: a chain written newest first, each page once, gives the file that applying its files oldest first
// gives (every page from the newest file that holds it, nothing past the newest last page, the newest metas), and a
// file that does not precede its successor is refused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { Rng } from '../../src/generate/prng.js';
import { ChainWriter } from '../../src/snapshot/chain-writer.js';
import { PageRecordEncoder, type PageStreamHeader } from '../../src/snapshot/page-records.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { seededBytes } from './support.js';

const ctx = useTmpEnv('pagevault-chain-writer-');

interface ChainFile {
  header: PageStreamHeader;
  metaPages: Buffer;
  pages: Map<number, Buffer>;
  stream: Buffer;
}

/** chainFile: a page stream with random runs of random pages up to `lastPage`. */
function chainFile(rng: Rng, pageSize: number, txnId: number, baseTxnId: number, lastPage: number): ChainFile {
  const header: PageStreamHeader = { dataVersion: 2, pageSize, txnId, baseTxnId, lastPage, encrypted: false };
  const encoder = new PageRecordEncoder(header);
  const metaPages = seededBytes(() => rng.next(), 2 * pageSize);
  const parts: Buffer[] = [...encoder.begin(metaPages)];
  const pages = new Map<number, Buffer>();
  // A full holds most pages; an incremental a scattering.
  const density = baseTxnId === 0 ? 0.9 : 0.15;
  let pgno = 2;
  while (pgno <= lastPage) {
    const runs: number[] = [];
    const data: Buffer[] = [];
    for (let r = 0; r < 4 && pgno <= lastPage; r++) {
      while (pgno <= lastPage && !rng.chance(density)) pgno++;
      if (pgno > lastPage) break;
      const count = rng.int(1, Math.min(20, lastPage - pgno + 1));
      runs.push(pgno, count);
      for (let i = 0; i < count; i++) {
        const page = seededBytes(() => rng.next(), pageSize);
        pages.set(pgno + i, page);
        data.push(page);
      }
      pgno += count + 1;
    }
    if (runs.length > 0) parts.push(...encoder.batch({ runs: Float64Array.from(runs), data: Buffer.concat(data) }));
  }
  parts.push(...encoder.end());
  return { header, metaPages, pages, stream: Buffer.concat(parts) };
}

/** pieces: `stream` cut into chunks of random sizes (copies, as a decompressor hands them out). */
async function* pieces(rng: Rng, stream: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < stream.length; ) {
    const size = rng.int(1, 30_000);
    yield Buffer.from(stream.subarray(at, at + size));
    at += size;
  }
}

describe('ChainWriter', () => {
  it('writes what oldest-first application would, each page once, whatever the last pages of the files', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const rng = new Rng(seed);
      const pageSize = rng.pick([512, 1024, 4096]);
      const files: ChainFile[] = [];
      let lastPage = rng.int(20, 400);
      for (let i = 0; i < rng.int(1, 8); i++) {
        // Databases grow, and sometimes shrink (a compacted free list): later files may end before earlier ones.
        lastPage = Math.max(5, lastPage + rng.int(-40, 60));
        files.push(chainFile(rng, pageSize, 100 + i, i === 0 ? 0 : 99 + i, lastPage));
      }
      const newest = files[files.length - 1];
      const expected = Buffer.alloc((newest.header.lastPage + 1) * pageSize);
      newest.metaPages.copy(expected, 0);
      const holders = new Set<number>();
      for (const f of files) {
        for (const [pgno, page] of f.pages) {
          if (pgno <= newest.header.lastPage) {
            page.copy(expected, pgno * pageSize);
            holders.add(pgno);
          }
        }
      }

      const path = join(ctx.dir, `chain-${seed}.mdb`);
      const writer = new ChainWriter(path);
      let written = 0;
      let released = 0;
      for (const f of [...files].reverse()) {
        const r = await writer.addFile(pieces(rng, f.stream), () => released++);
        expect(r.pages).toBe(f.pages.size);
        written += r.pagesWritten;
      }
      await writer.finish();
      expect(readFileSync(path).equals(expected), `seed ${seed}`).toBe(true);
      expect(written).toBe(holders.size); // each page written once
      expect(released).toBeGreaterThan(0);
    }
  });

  it('refuses a file that is not the predecessor of the one before it, or has another page size', async () => {
    const rng = new Rng(5);
    const full = chainFile(rng, 1024, 100, 0, 50);
    const incremental = chainFile(rng, 1024, 102, 101, 60); // applies to txn 101, not 100
    const writer = new ChainWriter(join(ctx.dir, 'mismatch.mdb'));
    await writer.addFile(pieces(rng, incremental.stream));
    await expect(writer.addFile(pieces(rng, full.stream))).rejects.toMatchObject({ code: ErrorCodes.CHAIN_MISMATCH });
    await writer.abort();

    const other = new ChainWriter(join(ctx.dir, 'page-size.mdb'));
    await other.addFile(pieces(rng, chainFile(rng, 1024, 101, 100, 60).stream));
    await expect(other.addFile(pieces(rng, chainFile(rng, 4096, 100, 0, 50).stream))).rejects.toMatchObject({ code: ErrorCodes.CHAIN_MISMATCH });
    await other.abort();
  });
});
