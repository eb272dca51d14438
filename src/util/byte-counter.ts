/**
 * byte-counter: a pass-through stage that counts the bytes flowing through it. Use it in a
 * pipeline instead of a 'data' listener: a listener switches the stream to flowing mode,
 * and bytes emitted before the real consumer attaches are lost (a backup lost its header
 * that way before this existed).
 */
import { Transform } from 'node:stream';

/** ByteCounter: `bytes` so far; `onChunk` (optional) is called after each chunk with the total. */
export class ByteCounter extends Transform {
  bytes = 0;
  readonly #onChunk?: (total: number) => void;

  constructor(onChunk?: (total: number) => void) {
    super();
    this.#onChunk = onChunk;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    this.#onChunk?.(this.bytes);
    callback(null, chunk);
  }
}
