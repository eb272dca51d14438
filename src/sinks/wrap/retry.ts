/**
 * retry: a Sink wrapper that retries the idempotent operations (get, stat, list, remove)
 * after transient failures, with exponential backoff and jitter. A read that breaks in the
 * middle of the body (a reset connection) resumes from the byte it reached with a ranged
 * get, so a restore from a remote destination survives a dropped connection; backup files
 * are never modified once written, so the resumed bytes are the same object's. `put` is not retried
 * here: its body is a stream that cannot be replayed; the network sinks retry inside the
 * protocol where the data can be resent (S3 parts, Azure blocks), and a put that still
 * fails is a failed destination (see fanout.ts). Errors that are not transient (not
 * found, refused overwrite, bad argument, abort) pass through at once.
 */
import { Readable } from 'node:stream';
import { ErrorCodes } from '../../errors.js';
import type { Sink } from '../sink.js';

/** RetryOptions: attempts in all (default 4) and the first delay (default 200 ms, doubling, ±50% jitter). */
export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry with the attempt number and the error. */
  onRetry?: (attempt: number, err: unknown) => void;
}

const PERMANENT = new Set<string>([ErrorCodes.NOT_FOUND, ErrorCodes.DESTINATION_NOT_EMPTY, ErrorCodes.INVALID_ARGUMENT, ErrorCodes.ABORTED]);

/** isTransient: worth retrying (anything but the permanent pagevault codes and aborts). */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown; name?: unknown } | null)?.code;
  if (typeof code === 'string' && PERMANENT.has(code)) return false;
  return (err as { name?: unknown } | null)?.name !== 'AbortError';
}

/** withRetry: `sink` with retried reads, stats, lists and removes. */
export function withRetry(sink: Sink, options: RetryOptions = {}): Sink {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  async function retried<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (attempt >= attempts || !isTransient(err)) throw err;
        options.onRetry?.(attempt, err);
        await sleep(base * 2 ** (attempt - 1) * (0.5 + Math.random()));
      }
    }
  }
  return {
    name: sink.name,
    properties: sink.properties,
    put: (key, body, o) => sink.put(key, body, o),
    async get(key, range) {
      const first = await retried(() => sink.get(key, range));
      const end = range?.end;
      let offset = range?.start ?? 0;
      async function* resuming(stream: Readable): AsyncGenerator<Buffer> {
        for (let failures = 0; ; ) {
          try {
            for await (const chunk of stream) {
              const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
              offset += b.length;
              yield b;
            }
            return;
          } catch (err) {
            // Errors here come from the source stream (a consumer that stops just ends this generator).
            const code = (err as { code?: unknown } | null)?.code;
            if (++failures >= attempts || (typeof code === 'string' && PERMANENT.has(code))) throw err;
            if (end !== undefined && offset > end) return;
            options.onRetry?.(failures, err);
            await sleep(base * 2 ** (failures - 1) * (0.5 + Math.random()));
            stream = await retried(() => sink.get(key, { start: offset, ...(end !== undefined ? { end } : {}) }));
          }
        }
      }
      return Readable.from(resuming(first), { objectMode: false });
    },
    stat: (key) => retried(() => sink.stat(key)),
    // A listing is retried from the start only if it fails before yielding anything.
    async *list(prefix) {
      let yielded = false;
      for (let attempt = 1; ; attempt++) {
        try {
          for await (const o of sink.list(prefix)) {
            yielded = true;
            yield o;
          }
          return;
        } catch (err) {
          if (yielded || attempt >= attempts || !isTransient(err)) throw err;
          options.onRetry?.(attempt, err);
          await sleep(base * 2 ** (attempt - 1) * (0.5 + Math.random()));
        }
      }
    },
    remove: (key) => retried(() => sink.remove(key)),
    // A sweep is a listing and removes, each idempotent: retried as a whole.
    ...(sink.sweepAbandoned ? { sweepAbandoned: () => retried(() => sink.sweepAbandoned!()) } : {}),
    close: () => sink.close(),
  };
}
