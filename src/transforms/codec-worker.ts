/**
 * codec-worker: a codec pool worker thread. It runs one job at a time, synchronously
 * (blocking this thread is the point).
 *
 * Messages in: WorkerRequest (input transferred, or in a shared input slot; a sealed input
 * is opened first). Messages out: one WorkerReply per request, same `seq`: `{ ok: true,
 * output, outputLength, input }` with the output transferred (or written into the request's
 * shared output, then `output` is null) and `input` handed back when `returnInput` is set
 * (for the caller's buffer recycling), or `{ ok: false, message, reason }` when the input
 * failed authentication ('auth') or the codec threw ('data').
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './codec-pool.js';
import { compressionCodecs } from './compress.js';
import { openSealed } from './encrypt.js';

const port = parentPort!;
port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const codec = compressionCodecs.byId(request.codec);
    if (!codec) throw new Error(`unknown codec id ${request.codec}`);
    let input: Uint8Array = new Uint8Array(request.input, 0, request.inputLength);
    if (request.open !== null) {
      try {
        input = openSealed(request.open, input);
      } catch (err) {
        throw new InputRefused(err instanceof Error ? err.message : String(err), 'auth');
      }
    }
    const shared = request.sharedOutput === null ? undefined : new Uint8Array(request.sharedOutput);
    let out: Uint8Array;
    try {
      out = request.op === 'compress' ? codec.compressSync(input, request.level) : codec.decompressSync(input, request.maxOutput, shared);
    } catch (err) {
      throw new InputRefused(err instanceof Error ? err.message : String(err), 'data');
    }
    let output: ArrayBuffer | null = null;
    if (shared !== undefined) {
      // Codecs that cannot decompress in place (gzip, none) return their own buffer: copy it over.
      if (out.buffer !== request.sharedOutput) shared.set(out);
    } else {
      // The codecs return views at the start of a buffer they own, but `none` may return the input itself.
      if (out.buffer === request.input || out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) out = out.slice();
      output = out.buffer as ArrayBuffer;
      transfer.push(output);
    }
    if (request.returnInput) transfer.push(request.input as ArrayBuffer);
    reply = { seq: request.seq, ok: true, output, outputLength: out.byteLength, input: request.returnInput ? (request.input as ArrayBuffer) : null };
  } catch (err) {
    const reason = err instanceof InputRefused ? err.reason : 'data';
    reply = { seq: request.seq, ok: false, message: err instanceof Error ? err.message : String(err), reason };
  }
  port.postMessage(reply, transfer);
});

/** InputRefused: the job's input failed authentication ('auth') or did not decode ('data'). */
class InputRefused extends Error {
  constructor(
    message: string,
    readonly reason: 'data' | 'auth',
  ) {
    super(message);
  }
}
