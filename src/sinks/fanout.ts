/**
 * fanout: one stream of bytes to several sinks at once. One read, one compression and one
 * encryption pass feed every destination; the slowest healthy destination sets the pace
 * (a chunk is handed to the next stage only after every destination took it, so memory
 * stays bounded by each destination's own buffer, never by the file size). A destination
 * that fails is dropped from the set — its put has already cleaned up after itself, per
 * the Sink contract — while the others go on and complete; the result reports each one.
 *
 * Policy: 'all' (default): the put fails (FanOutError, with every destination's status)
 * unless every destination completed; 'best-effort': it succeeds when at least one did.
 */
import { PassThrough, Readable, Writable } from 'node:stream';
import { ErrorCodes, PagevaultError } from '../errors.js';
import type { PutResult, Sink } from './sink.js';

/** DestinationStatus: what happened at one destination. */
export interface DestinationStatus {
  destination: string;
  ok: boolean;
  bytes: number;
  ms: number;
  /** `code: message` of the failure (never a credential: sinks keep them out of messages). */
  error?: string;
}

export type FanOutPolicy = 'all' | 'best-effort';

/** FanOutError: not every destination completed (policy 'all'), or none did. */
export class FanOutError extends PagevaultError {
  readonly destinations: DestinationStatus[];

  constructor(message: string, destinations: DestinationStatus[]) {
    super(ErrorCodes.DESTINATION_FAILED, message);
    this.destinations = destinations;
  }
}

/** FanOutResult: per-destination status, in the order the sinks were given. */
export interface FanOutResult {
  destinations: DestinationStatus[];
}

/**
 * putToAll: stores `body` under `key` on every sink. Resolves when every destination has
 * finished (completed or failed) and the policy is met; rejects with FanOutError
 * otherwise, or with the body's own error if the source failed (then no destination keeps
 * an object). `signal` aborts every put.
 */
export async function putToAll(
  sinks: readonly Sink[],
  key: string,
  body: Readable,
  options: { overwrite?: boolean; signal?: AbortSignal; policy?: FanOutPolicy } = {},
): Promise<FanOutResult> {
  if (sinks.length === 1) {
    const started = performance.now();
    const r = await sinks[0].put(key, body, options);
    return { destinations: [{ destination: sinks[0].name, ok: true, bytes: r.size, ms: performance.now() - started }] };
  }
  const started = performance.now();
  const branches = sinks.map((sink) => {
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    // A branch's failure is reported through its put's promise; the stream error itself is expected.
    pass.on('error', () => undefined);
    const status: DestinationStatus = { destination: sink.name, ok: false, bytes: 0, ms: 0 };
    const done: Promise<PutResult | undefined> = sink.put(key, pass, options).then(
      (r) => {
        status.ok = true;
        status.bytes = r.size;
        status.ms = performance.now() - started;
        return r;
      },
      (err: unknown) => {
        status.ms = performance.now() - started;
        status.error = describe(err);
        pass.destroy();
        return undefined;
      },
    );
    return { pass, status, done, alive: true };
  });
  let sourceError: unknown;
  const splitter = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, callback) {
      const waits: Array<Promise<void>> = [];
      for (const b of branches) {
        if (!b.alive || b.status.error !== undefined || b.pass.destroyed) {
          b.alive = false;
          continue;
        }
        if (!b.pass.write(chunk)) {
          waits.push(
            new Promise<void>((resolve) => {
              const onDone = (): void => {
                b.pass.off('drain', onDone);
                b.pass.off('close', onDone);
                resolve();
              };
              b.pass.on('drain', onDone);
              b.pass.on('close', onDone);
            }),
          );
        }
      }
      // Nobody left to write to: stop reading the source.
      if (branches.every((b) => !b.alive)) return callback(new Error('every destination failed'));
      if (waits.length === 0) callback();
      else void Promise.all(waits).then(() => callback());
    },
    final(callback) {
      for (const b of branches) if (!b.pass.destroyed) b.pass.end();
      callback();
    },
  });
  await new Promise<void>((resolve) => {
    body.on('error', (err) => {
      sourceError = err;
      for (const b of branches) b.pass.destroy(err instanceof Error ? err : new Error(String(err)));
      resolve();
    });
    splitter.on('finish', () => resolve());
    splitter.on('error', () => {
      body.unpipe(splitter);
      body.destroy();
      resolve();
    });
    body.pipe(splitter);
  });
  await Promise.all(branches.map((b) => b.done));
  if (sourceError) throw sourceError;
  const result = { destinations: branches.map((b) => b.status) };
  enforcePolicy(result, options.policy ?? 'all');
  return result;
}

/** enforcePolicy: throws FanOutError when `result` does not meet `policy` (none completed, or not all under 'all'). */
export function enforcePolicy(result: FanOutResult, policy: FanOutPolicy): void {
  const { destinations } = result;
  const failed = destinations.filter((d) => !d.ok);
  if (failed.length === destinations.length || (policy === 'all' && failed.length > 0)) {
    throw new FanOutError(`${failed.length} of ${destinations.length} destinations failed: ${failed.map((d) => `${d.destination} (${d.error})`).join('; ')}`, destinations);
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
