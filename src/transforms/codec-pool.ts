/**
 * codec-pool: a small pool of worker threads that run compression codecs on whole chunks,
 * so compression and decompression use every core and never block the event loop (the
 * reasoning and measurements are at the top of `compress.ts`).
 *
 * One pool per process (`codecPool()`), shared by every writer and reader; its size is
 * `os.availableParallelism()`. Each worker runs one job at a time; jobs wait in a FIFO
 * and go to the first idle worker, so they may finish out of order: callers that need
 * order keep their own FIFO of promises. Workers start lazily, and are `unref()`ed while
 * idle, so an idle pool never keeps the process alive; a worker that crashes fails its
 * job and is replaced on the next one.
 *
 * Buffers cross by transfer, never by structured-clone copy of a shared slab: an input
 * that does not own its whole ArrayBuffer (a view into a stream chunk) is copied once
 * into one that does.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerUrl } from '../util/worker-url.js';

/** CodecJob: one chunk to (de)compress. */
export interface CodecJob {
  op: 'compress' | 'decompress';
  /** Codec header id (see `compressionCodecs`). */
  codec: number;
  level: number;
  /** Decompression only: the most bytes the output may have. */
  maxOutput: number;
  input: Uint8Array;
  /** Hand `input`'s ArrayBuffer to the worker (it is detached here) and get it back in `CodecResult.input`. */
  transfer: boolean;
}

/**
 * CodecResult: the output, and the input buffer handed back when the job transferred it. A decompressed `output`
 * may be a view of the start of a larger buffer (a recycled spare, see `CodecPool.recycle`).
 */
export interface CodecResult {
  output: Buffer;
  input: Buffer | null;
}

/** CodecDataError: the codec rejected its input (malformed or oversized compressed data), as opposed to a crashed worker. */
export class CodecDataError extends Error {
  override name = 'CodecDataError';
}

/** @internal Message to a worker. */
export interface WorkerRequest {
  seq: number;
  op: 'compress' | 'decompress';
  codec: number;
  level: number;
  maxOutput: number;
  input: ArrayBuffer;
  returnInput: boolean;
  /** Decompression only: a recycled buffer the worker may decompress into (transferred). */
  spare: ArrayBuffer | null;
}

/** @internal Message from a worker. */
export type WorkerReply =
  | { seq: number; ok: true; output: ArrayBuffer; outputLength: number; input: ArrayBuffer | null }
  | { seq: number; ok: false; message: string };

interface Pending {
  seq: number;
  request: WorkerRequest;
  resolve: (result: CodecResult) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Pending | null;
}

/** CodecPool: see the module comment. */
export class CodecPool {
  /** size: the most worker threads this pool runs. */
  readonly size: number;
  #slots: Slot[] = [];
  #queue: Pending[] = [];
  #spares: ArrayBuffer[] = [];
  #seq = 0;
  #closed = false;

  constructor(size = availableParallelism()) {
    this.size = Math.max(1, size);
  }

  /**
   * run: executes `job` in a worker. Resolves with the output; rejects with a
   * CodecDataError when the codec refused the input, or with an Error when the worker
   * could not start or died. Never blocks the calling thread beyond one small copy for
   * inputs that cannot be transferred.
   */
  run(job: CodecJob): Promise<CodecResult> {
    if (this.#closed) return Promise.reject(new Error('codec pool is closed'));
    let input = job.input;
    const ownsBuffer = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength && input.buffer instanceof ArrayBuffer;
    if (!job.transfer || !ownsBuffer) {
      const copy = new Uint8Array(input.byteLength);
      copy.set(input);
      input = copy;
    }
    return new Promise<CodecResult>((resolve, reject) => {
      const seq = ++this.#seq;
      const request: WorkerRequest = {
        seq,
        op: job.op,
        codec: job.codec,
        level: job.level,
        maxOutput: job.maxOutput,
        input: input.buffer as ArrayBuffer,
        returnInput: job.transfer && ownsBuffer,
        spare: null,
      };
      this.#queue.push({ seq, request, resolve, reject });
      this.#dispatch();
    });
  }

  /**
   * recycle: hands back the buffer of a decompressed output its consumer is completely done with (no view of it
   * may be used afterwards): a later decompression writes into it instead of allocating a fresh one, which saves
   * the page faults and zeroing of a new mapping and keeps the JS thread's external memory, and so its garbage
   * collections, flat. Buffers that are not whole, owned ArrayBuffers of at least 64 KiB are ignored; the newest
   * `MAX_SPARES` are kept.
   */
  recycle(output: Uint8Array): void {
    const buffer = output.buffer;
    if (this.#closed || !(buffer instanceof ArrayBuffer) || output.byteOffset !== 0 || buffer.byteLength < 64 * 1024) return;
    if (this.#spares.includes(buffer)) return;
    // The newest are kept: after a change of chunk size the old ones would never fit again.
    if (this.#spares.length >= MAX_SPARES) this.#spares.shift();
    this.#spares.push(buffer);
  }

  /** close: terminates every worker and fails queued jobs. Idempotent; the pool cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#spares = [];
    const err = new Error('codec pool closed');
    for (const pending of this.#queue.splice(0)) pending.reject(err);
    const slots = this.#slots.splice(0);
    for (const slot of slots) slot.job?.reject(err);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === null);
      if (!slot && this.#slots.length < this.size) {
        try {
          slot = this.#spawn();
        } catch (err) {
          // The worker file cannot be loaded (e.g. not built): nothing in the queue can run.
          for (const pending of this.#queue.splice(0)) pending.reject(err as Error);
          return;
        }
      }
      if (!slot) return;
      const pending = this.#queue.shift()!;
      slot.job = pending;
      slot.worker.ref();
      const transfer = [pending.request.input];
      if (pending.request.op === 'decompress') {
        const i = this.#spares.findIndex((b) => b.byteLength >= pending.request.maxOutput && b.byteLength <= 2 * pending.request.maxOutput);
        if (i >= 0) {
          pending.request.spare = this.#spares.splice(i, 1)[0];
          transfer.push(pending.request.spare);
        }
      }
      slot.worker.postMessage(pending.request, transfer);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(workerUrl('./codec-worker.js', import.meta.url));
    const slot: Slot = { worker, job: null };
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const pending = slot.job;
      if (!pending || pending.seq !== reply.seq) return;
      slot.job = null;
      worker.unref();
      if (reply.ok) {
        pending.resolve({ output: Buffer.from(reply.output, 0, reply.outputLength), input: reply.input ? Buffer.from(reply.input) : null });
      } else {
        pending.reject(new CodecDataError(reply.message));
      }
      this.#dispatch();
    });
    const fail = (err: Error): void => {
      const index = this.#slots.indexOf(slot);
      if (index < 0) return;
      this.#slots.splice(index, 1);
      slot.job?.reject(err);
      slot.job = null;
      if (!this.#closed) this.#dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`codec worker exited with code ${code}`)));
    this.#slots.push(slot);
    return slot;
  }
}

/** MAX_SPARES: recycled output buffers a pool keeps (a few chunks per worker). */
const MAX_SPARES = 8;

let shared: CodecPool | undefined;

/** codecPool: the process-wide pool, created on first use. */
export function codecPool(): CodecPool {
  if (!shared) shared = new CodecPool();
  return shared;
}

/** closeCodecPool: terminates the shared pool's workers (tests, orderly shutdown); the next `codecPool()` starts a new one. */
export async function closeCodecPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
