/**
 * doc-encoder: turning blocks of JSON lines into the bytes lmdb-js stores for their
 * document records, ahead of the writer.
 *
 * The native encoder (nativeEncodeDocLines, native/doc_encoder.*) parses a block on the
 * libuv pool and returns, per line, whether it encoded it (a document record it can encode
 * byte for byte as lmdb-js's msgpackr would) and if so its key and value bytes; every other
 * line is parsed in JS by the applier. `encodeAhead` keeps one block encoding while the
 * previous one is written, so parsing and writing overlap on two cores.
 */
import { nativeEncodeDocLines, type EncodedDocLines } from '../native/binding.js';

export type { EncodedDocLines };


/** DocEncoder: encodes one block of whole lines. */
export type DocEncoder = (block: Buffer) => Promise<EncodedDocLines>;

/** defaultDocEncoder: the native encoder (nativeEncodeDocLines). */
export function defaultDocEncoder(): DocEncoder {
  return nativeEncodeDocLines;
}

/** splitLines: [start, end) of every line of `block` (without its '\n'), as the native encoder reports them. */
export function splitLines(block: Buffer): Uint32Array {
  const out: number[] = [];
  let start = 0;
  while (start < block.length) {
    let nl = block.indexOf(10, start);
    if (nl < 0) nl = block.length;
    out.push(start, nl);
    start = nl + 1;
  }
  return Uint32Array.from(out);
}

/**
 * encodeAhead: the blocks with their encoding, keeping up to `depth` blocks encoding on the
 * libuv pool while the caller works on the current one (so the pool, the stream feeding
 * the blocks and the writer all keep busy). A failed encoding rejects when its block is
 * reached.
 */
export async function* encodeAhead(blocks: AsyncIterable<Buffer>, encode: DocEncoder | undefined, depth = 2): AsyncGenerator<{ block: Buffer; encoded?: EncodedDocLines }> {
  if (!encode) {
    for await (const block of blocks) yield { block };
    return;
  }
  const queue: Array<{ block: Buffer; encoded: Promise<EncodedDocLines> }> = [];
  for await (const block of blocks) {
    const encoded = encode(block);
    encoded.catch(() => undefined); // awaited below; never an unhandled rejection if the caller stops early
    queue.push({ block, encoded });
    if (queue.length > depth) {
      const head = queue.shift()!;
      yield { block: head.block, encoded: await head.encoded };
    }
  }
  while (queue.length > 0) {
    const head = queue.shift()!;
    yield { block: head.block, encoded: await head.encoded };
  }
}
