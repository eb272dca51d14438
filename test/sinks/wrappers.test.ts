/** The sink wrappers: retry of idempotent operations, concurrency limit, logging. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, IoError } from '../../src/errors.js';
import { LocalSink } from '../../src/sinks/local.js';
import type { Sink } from '../../src/sinks/sink.js';
import { withLimit } from '../../src/sinks/wrap/limit.js';
import { withLog, type SinkLogEntry } from '../../src/sinks/wrap/log.js';
import { withRetry } from '../../src/sinks/wrap/retry.js';

let dir: string;
let local: LocalSink;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pv-wrap-'));
  local = new LocalSink(join(dir, 'd'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** flaky: the first `failures` stat calls fail with a transient IoError (503-like). */
function flaky(inner: Sink, failures: number): Sink & { calls: number } {
  const s = {
    ...inner,
    name: inner.name,
    properties: inner.properties,
    calls: 0,
    async stat(key: string) {
      s.calls++;
      if (s.calls <= failures) throw new IoError('HTTP 503 Slow Down');
      return inner.stat(key);
    },
    get: inner.get.bind(inner),
    put: inner.put.bind(inner),
    list: inner.list.bind(inner),
    remove: inner.remove.bind(inner),
    close: inner.close.bind(inner),
  };
  return s;
}

describe('sink wrappers', () => {
  it('retries transient failures with backoff and gives up after the attempts', async () => {
    await local.put('k', Readable.from([Buffer.from('x')]));
    const delays: number[] = [];
    const sleep = async (ms: number) => {
      delays.push(ms);
    };
    const twice = flaky(local, 2);
    expect((await withRetry(twice, { sleep }).stat('k')).size).toBe(1);
    expect(twice.calls).toBe(3);
    expect(delays).toHaveLength(2);
    expect(delays[1]).toBeGreaterThan(delays[0] / 1.5);
    const always = flaky(local, 100);
    await expect(withRetry(always, { attempts: 3, sleep }).stat('k')).rejects.toMatchObject({ code: ErrorCodes.IO });
    expect(always.calls).toBe(3);
    // Not found is permanent: one call, no retry.
    const counted = flaky(local, 0);
    await expect(withRetry(counted, { sleep }).stat('missing')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    expect(counted.calls).toBe(1);
  });

  it('limits operations in flight', async () => {
    let inFlight = 0;
    let max = 0;
    const slow: Sink = {
      ...local,
      name: local.name,
      properties: local.properties,
      async stat(key) {
        inFlight++;
        max = Math.max(max, inFlight);
        await new Promise((r) => setTimeout(r, 10));
        inFlight--;
        return { key, size: 0, modified: new Date() };
      },
      get: local.get.bind(local),
      put: local.put.bind(local),
      list: local.list.bind(local),
      remove: local.remove.bind(local),
      close: local.close.bind(local),
    };
    const limited = withLimit(slow, 2);
    await Promise.all(Array.from({ length: 10 }, (_, i) => limited.stat(`k${i}`)));
    expect(max).toBe(2);
  });

  it('logs each operation with its outcome', async () => {
    const entries: SinkLogEntry[] = [];
    const logged = withLog(local, (e) => entries.push(e));
    await logged.put('a', Readable.from([Buffer.from('hello')]));
    await expect(logged.stat('missing')).rejects.toThrow();
    expect(entries.map((e) => [e.op, e.key, e.ok])).toEqual([['put', 'a', true], ['stat', 'missing', false]]);
    expect(entries[0].bytes).toBe(5);
    expect(entries[1].error).toMatch(/PAGEVAULT_ERR_NOT_FOUND/);
  });
});

describe('resuming reads', () => {
  it('a read that breaks mid-body resumes from the byte it reached', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    await local.put('obj', Readable.from([data]));
    let breaks = 2;
    const ranges: Array<{ start: number; end?: number } | undefined> = [];
    const breaking: Sink = {
      ...local,
      name: local.name,
      properties: local.properties,
      async get(key, range) {
        ranges.push(range);
        const inner = await local.get(key, range);
        if (breaks-- <= 0) return inner;
        let sent = 0;
        return Readable.from(
          (async function* () {
            for await (const c of inner) {
              const b = c as Buffer;
              if (sent + b.length > 50_000) {
                yield b.subarray(0, 50_000 - sent);
                throw Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }); // what Azure's SDK raises on a reset
              }
              sent += b.length;
              yield b;
            }
          })(),
        );
      },
      stat: local.stat.bind(local),
      put: local.put.bind(local),
      list: local.list.bind(local),
      remove: local.remove.bind(local),
      close: local.close.bind(local),
    };
    const sink = withRetry(breaking, { sleep: async () => undefined });
    const parts: Buffer[] = [];
    for await (const c of await sink.get('obj', { start: 1000 })) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(data.subarray(1000))).toBe(true);
    expect(ranges).toEqual([{ start: 1000 }, { start: 51_000 }, { start: 101_000 }]);
    // Without the wrapper the same break is an error, never a silent short read.
    breaks = 1;
    const raw: Buffer[] = [];
    await expect((async () => {
      for await (const c of await breaking.get('obj')) raw.push(c as Buffer);
    })()).rejects.toThrow(/aborted/);
  });
});
