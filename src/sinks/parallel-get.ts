/**
 * parallel-get: reading one large object from a network destination as several ranged
 * gets at once, yielded in order. One HTTP stream from S3 or Azure is typically limited to
 * tens of MB/s however fast the link (per-connection throughput); restoring tens of GB at
 * that pace is slow, so restore and verify fetch `concurrency` parts of `partSize` bytes
 * concurrently. Memory stays bounded at about concurrency × partSize; parts are consumed
 * strictly in order, so the stream is the object's bytes exactly.
 *
 * A local folder, or a sink without range reads, or an object smaller than two parts, is
 * read with one plain get: there the extra requests buy nothing.
 */
import { Readable } from 'node:stream';
import { LocalSink } from './local.js';
import type { Sink } from './sink.js';

/** ParallelGetOptions: part size (default 8 MiB) and parts in flight (default 4). */
export interface ParallelGetOptions {
  partSize?: number;
  concurrency?: number;
  signal?: AbortSignal;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * getObject: the bytes of `key` (whose size is `size`, from the manifest) as one stream:
 * ranged parts fetched concurrently where that helps (see the module comment), else one
 * get. A part that comes back short or long fails the stream (the object is not the one
 * the manifest describes).
 */
export async function getObject(sink: Sink, key: string, size: number, options: ParallelGetOptions = {}): Promise<Readable> {
  const partSize = options.partSize ?? 8 * 1024 * 1024;
  const concurrency = options.concurrency ?? 4;
  if (!sink.properties.rangeReads || sink instanceof LocalSink || concurrency < 2 || size < 2 * partSize) return sink.get(key);
  const parts = Math.ceil(size / partSize);
  const fetchPart = async (i: number): Promise<Buffer> => {
    const start = i * partSize;
    const end = Math.min(size, start + partSize) - 1;
    const bytes = await readAll(await sink.get(key, { start, end }));
    if (bytes.length !== end - start + 1) throw new Error(`${sink.name}/${key}: bytes ${start}-${end} came back as ${bytes.length} bytes (the object is not ${size} bytes long)`);
    return bytes;
  };
  async function* ordered(): AsyncGenerator<Buffer> {
    const inFlight: Array<Promise<Buffer>> = [];
    let next = 0;
    const fill = (): void => {
      while (next < parts && inFlight.length < concurrency) {
        const p = fetchPart(next++);
        // Rejections are awaited in order below; this only keeps one from being reported as unhandled meanwhile.
        p.catch(() => undefined);
        inFlight.push(p);
      }
    };
    fill();
    while (inFlight.length > 0) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const part = await inFlight.shift()!;
      fill();
      yield part;
    }
  }
  return Readable.from(ordered(), { objectMode: false, highWaterMark: 1 });
}
