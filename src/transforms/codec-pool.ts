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
 * Inputs cross by transfer when the caller hands over a buffer it owns whole; any other
 * input (a view into a stream chunk) is copied once into a pool-owned shared input slot,
 * reused for later jobs, so the JS thread neither allocates nor detaches a buffer for it
 * (detaching a large ArrayBuffer on the JS thread measured 2–5 ms at times during a
 * restore, on top of the garbage collections the allocations drove). Outputs come back by
 * transfer, or, for jobs that ask for `sharedOutput`, are written into pool-owned shared
 * memory that the consumer hands back with `recycle`.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerUrl } from '../util/worker-url.js';
import type { OpenParams } from './encrypt.js';

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
  /** Decompression only: `input` is sealed (AES-256-GCM); the worker opens it with these parameters first. */
  open?: OpenParams;
  /**
   * Decompression only: write the output into pool-owned shared memory (a SharedArrayBuffer) instead of
   * transferring a fresh buffer; the consumer hands it back with `recycle` once done with it.
   */
  sharedOutput?: boolean;
}

/**
 * CodecResult: the output, and the input buffer handed back when the job transferred it. A decompressed `output`
 * may be a view of the start of a larger buffer (a recycled spare, see `CodecPool.recycle`).
 */
export interface CodecResult {
  output: Buffer;
  input: Buffer | null;
}

/**
 * CodecDataError: the job's input was refused, as opposed to a crashed worker: `reason` 'data' when the codec
 * rejected it (malformed or oversized compressed data), 'auth' when a sealed input failed authentication.
 */
export class CodecDataError extends Error {
  override name = 'CodecDataError';
  readonly reason: 'data' | 'auth';

  constructor(message: string, reason: 'data' | 'auth' = 'data') {
    super(message);
    this.reason = reason;
  }
}

/** @internal Message to a worker. */
export interface WorkerRequest {
  seq: number;
  op: 'compress' | 'decompress';
  codec: number;
  level: number;
  maxOutput: number;
  /** The input: a transferred ArrayBuffer (whole), or a shared input slot of which the first `inputLength` bytes count. */
  input: ArrayBuffer | SharedArrayBuffer;
  inputLength: number;
  returnInput: boolean;
  open: OpenParams | null;
  /** Decompression into shared memory: the buffer to write the output into (at least maxOutput bytes). */
  sharedOutput: SharedArrayBuffer | null;
}

/** @internal Message from a worker. `output` is null when the output was written into the request's sharedOutput. */
export type WorkerReply =
  | { seq: number; ok: true; output: ArrayBuffer | null; outputLength: number; input: ArrayBuffer | null }
  | { seq: number; ok: false; message: string; reason: 'data' | 'auth' };

interface Pending {
  seq: number;
  request: WorkerRequest;
  /** The shared input slot the request reads, returned to the free list when the job settles. */
  slot: SharedArrayBuffer | null;
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
  /** Shared output buffers handed back by consumers (`recycle`), newest last. */
  #spares: SharedArrayBuffer[] = [];
  /** Free shared input slots. */
  #inputSlots: SharedArrayBuffer[] = [];
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
    const input = job.input;
    const ownsBuffer = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength && input.buffer instanceof ArrayBuffer;
    const transfer = job.transfer && ownsBuffer;
    let slot: SharedArrayBuffer | null = null;
    if (!transfer) {
      slot = this.#takeInputSlot(input.byteLength);
      new Uint8Array(slot, 0, input.byteLength).set(input);
    }
    let sharedOutput: SharedArrayBuffer | null = null;
    if (job.sharedOutput === true && job.op === 'decompress') {
      const i = this.#spares.findIndex((b) => b.byteLength >= job.maxOutput && b.byteLength <= 2 * job.maxOutput);
      sharedOutput = i >= 0 ? this.#spares.splice(i, 1)[0] : new SharedArrayBuffer(Math.max(1, job.maxOutput));
    }
    return new Promise<CodecResult>((resolve, reject) => {
      const seq = ++this.#seq;
      const request: WorkerRequest = {
        seq,
        op: job.op,
        codec: job.codec,
        level: job.level,
        maxOutput: job.maxOutput,
        input: slot ?? (input.buffer as ArrayBuffer),
        inputLength: input.byteLength,
        returnInput: transfer,
        open: job.open ?? null,
        sharedOutput,
      };
      this.#queue.push({ seq, request, slot, resolve, reject });
      this.#dispatch();
    });
  }

  /** #takeInputSlot: a free shared input slot of at least `size` bytes (sizes rounded up to 1 MiB). */
  #takeInputSlot(size: number): SharedArrayBuffer {
    const i = this.#inputSlots.findIndex((b) => b.byteLength >= size);
    if (i >= 0) return this.#inputSlots.splice(i, 1)[0];
    return new SharedArrayBuffer(Math.max(INPUT_SLOT_UNIT, Math.ceil(size / INPUT_SLOT_UNIT) * INPUT_SLOT_UNIT));
  }

  #settled(pending: Pending): void {
    if (pending.slot !== null && !this.#closed && this.#inputSlots.length < 2 * this.size + 2) this.#inputSlots.push(pending.slot);
  }

  /**
   * recycle: hands back a `sharedOutput` its consumer is completely done with (no view of it may be used
   * afterwards): a later decompression writes into it instead of into fresh memory, which saves the page faults
   * of a new mapping and keeps the JS thread's external memory, and so its garbage collections, flat. Anything
   * else (a view not at the start of its buffer, an ordinary ArrayBuffer, less than 64 KiB) is ignored; the
   * newest `MAX_SPARES` are kept.
   */
  recycle(output: Uint8Array): void {
    const buffer = output.buffer;
    if (this.#closed || !(buffer instanceof SharedArrayBuffer) || output.byteOffset !== 0 || buffer.byteLength < 64 * 1024) return;
    if (this.#spares.includes(buffer)) return;
    // The newest are kept: after a change of chunk size the old ones would never fit again.
    if (this.#spares.length >= MAX_SPARES) this.#spares.shift();
    this.#spares.push(buffer);
  }

  /** close: terminates every worker and fails queued jobs. Idempotent; the pool cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#spares = [];
    this.#inputSlots = [];
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
      // Shared memory (input slots, shared outputs) is shared by postMessage, not transferred.
      const transfer = pending.request.input instanceof ArrayBuffer ? [pending.request.input] : [];
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
      this.#settled(pending);
      if (reply.ok) {
        const memory = reply.output ?? pending.request.sharedOutput;
        if (memory === null) {
          pending.reject(new Error('codec worker sent no output'));
        } else {
          pending.resolve({ output: Buffer.from(memory, 0, reply.outputLength), input: reply.input ? Buffer.from(reply.input) : null });
        }
      } else {
        pending.reject(new CodecDataError(reply.message, reply.reason));
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
/** INPUT_SLOT_UNIT: shared input slots are sized in whole MiB, so slots fit the next frames of similar size. */
const INPUT_SLOT_UNIT = 1024 * 1024;

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
