/**
 * limit: a Sink wrapper that runs at most `concurrency` operations at a time on a
 * destination (an FTP server that allows a few connections, a throttled account); later
 * calls wait in order. A put holds its slot until the upload completes.
 */
import type { Sink } from '../sink.js';

/** Semaphore: FIFO slots. */
export class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`Expected a positive integer for slots but received ${slots}`);
    this.#free = slots;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** withLimit: `sink` with at most `concurrency` operations in flight (a listing counts while it runs). */
export function withLimit(sink: Sink, concurrency: number): Sink {
  const slots = new Semaphore(concurrency);
  return {
    name: sink.name,
    properties: sink.properties,
    put: (key, body, o) => slots.run(() => sink.put(key, body, o)),
    get: (key, range) => slots.run(() => sink.get(key, range)),
    stat: (key) => slots.run(() => sink.stat(key)),
    async *list(prefix) {
      const items = await slots.run(async () => {
        const all = [];
        for await (const o of sink.list(prefix)) all.push(o);
        return all;
      });
      yield* items;
    },
    remove: (key) => slots.run(() => sink.remove(key)),
    ...(sink.sweepAbandoned ? { sweepAbandoned: () => slots.run(() => sink.sweepAbandoned!()) } : {}),
    close: () => sink.close(),
  };
}
