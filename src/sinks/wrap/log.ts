/**
 * log: a Sink wrapper that reports every operation (name, key, outcome, duration, bytes
 * for puts) to a logger. Sinks keep credentials out of their names and errors, so nothing
 * secret reaches the log.
 */
import type { Sink } from '../sink.js';

/** SinkLogEntry: one finished operation. */
export interface SinkLogEntry {
  destination: string;
  op: 'put' | 'get' | 'stat' | 'list' | 'remove' | 'sweep';
  key: string;
  ok: boolean;
  ms: number;
  bytes?: number;
  error?: string;
}

/** withLog: `sink` reporting each operation to `log`. */
export function withLog(sink: Sink, log: (e: SinkLogEntry) => void): Sink {
  async function logged<T>(op: SinkLogEntry['op'], key: string, fn: () => Promise<T>, bytes?: (r: T) => number): Promise<T> {
    const t = performance.now();
    try {
      const r = await fn();
      log({ destination: sink.name, op, key, ok: true, ms: performance.now() - t, ...(bytes ? { bytes: bytes(r) } : {}) });
      return r;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      log({ destination: sink.name, op, key, ok: false, ms: performance.now() - t, error: `${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}` });
      throw err;
    }
  }
  return {
    name: sink.name,
    properties: sink.properties,
    put: (key, body, o) => logged('put', key, () => sink.put(key, body, o), (r) => r.size),
    get: (key, range) => logged('get', key, () => sink.get(key, range)),
    stat: (key) => logged('stat', key, () => sink.stat(key)),
    list: (prefix) => sink.list(prefix),
    remove: (key) => logged('remove', key, () => sink.remove(key)),
    ...(sink.sweepAbandoned ? { sweepAbandoned: () => logged('sweep', '', () => sink.sweepAbandoned!()) } : {}),
    close: () => sink.close(),
  };
}
