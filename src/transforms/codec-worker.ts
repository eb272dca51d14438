/**
 * codec-worker: a codec pool worker thread. It runs one job at a time, synchronously
 * (blocking this thread is the point), and transfers the output back.
 *
 * Messages in: WorkerRequest (input ArrayBuffer transferred). Messages out: one
 * WorkerReply per request, same `seq`: `{ ok: true, output, input }` with `input` handed
 * back when `returnInput` is set (for the caller's buffer recycling), or `{ ok: false,
 * message }` when the codec threw.
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './codec-pool.js';
import { compressionCodecs } from './compress.js';

const port = parentPort!;
port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const codec = compressionCodecs.byId(request.codec);
    if (!codec) throw new Error(`unknown codec id ${request.codec}`);
    const input = new Uint8Array(request.input);
    const spare = request.spare === null ? undefined : new Uint8Array(request.spare);
    let out = request.op === 'compress' ? codec.compressSync(input, request.level) : codec.decompressSync(input, request.maxOutput, spare);
    // The codecs return views at the start of a buffer they own (a fresh one or the spare), but `none` may return
    // the input itself.
    if (out.buffer === request.input || out.byteOffset !== 0) out = out.slice();
    const output = out.buffer as ArrayBuffer;
    transfer.push(output);
    if (request.returnInput) transfer.push(request.input);
    reply = { seq: request.seq, ok: true, output, outputLength: out.byteLength, input: request.returnInput ? request.input : null };
  } catch (err) {
    reply = { seq: request.seq, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, transfer);
});
