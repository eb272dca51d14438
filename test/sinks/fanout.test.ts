/**
 * Fan-out: one stream to several destinations; a failing destination does not stop the
 * others; the policy decides the outcome; a slow destination bounds memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { putToAll } from '../../src/sinks/fanout.js';
import { LocalSink } from '../../src/sinks/local.js';
import type { Sink } from '../../src/sinks/sink.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pv-fanout-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
async function read(sink: Sink, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await sink.get(key)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
function source(data: Buffer, onRead?: (bytes: number) => void): Readable {
  let sent = 0;
  return Readable.from(
    (async function* () {
      for (let i = 0; i < data.length; i += 256 * 1024) {
        const c = data.subarray(i, i + 256 * 1024);
        sent += c.length;
        onRead?.(sent);
        yield c;
      }
    })(),
  );
}

/** Fault injection around a real sink: fail after `after` bytes, or throttle. */
function faulty(inner: LocalSink, mode: { failAfter?: number; bytesPerTick?: number }): Sink {
  return {
    name: `faulty(${inner.name})`,
    properties: inner.properties,
    put(key, body, options) {
      let seen = 0;
      const gate = new Transform({
        highWaterMark: 64 * 1024,
        transform(chunk: Buffer, _e, cb) {
          seen += chunk.length;
          if (mode.failAfter !== undefined && seen > mode.failAfter) return cb(new Error('injected: connection reset'));
          if (mode.bytesPerTick) setTimeout(() => cb(null, chunk), Math.ceil(chunk.length / mode.bytesPerTick));
          else cb(null, chunk);
        },
      });
      gate.on('error', () => undefined); // reported through the put's promise
      body.pipe(gate);
      body.on('error', (e) => gate.destroy(e));
      return inner.put(key, gate, options);
    },
    get: (k, r) => inner.get(k, r),
    stat: (k) => inner.stat(k),
    list: (p) => inner.list(p),
    remove: (k) => inner.remove(k),
    close: () => inner.close(),
  };
}

describe('putToAll', () => {
  it('writes the same bytes to every destination in one pass', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const sinks = [0, 1, 2].map((i) => new LocalSink(join(dir, `d${i}`)));
    const r = await putToAll(sinks, 'c/file', source(data));
    expect(r.destinations.map((d) => [d.ok, d.bytes])).toEqual([[true, data.length], [true, data.length], [true, data.length]]);
    for (const s of sinks) expect(sha(await read(s, 'c/file'))).toBe(sha(data));
  });

  it('a failing destination does not stop the others; policy all fails, best-effort succeeds', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    const good = [new LocalSink(join(dir, 'a')), new LocalSink(join(dir, 'b'))];
    const bad = faulty(new LocalSink(join(dir, 'bad')), { failAfter: 1024 * 1024 });
    const err = await putToAll([good[0], bad, good[1]], 'c/file', source(data)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCodes.DESTINATION_FAILED });
    const statuses = (err as { destinations: Array<{ ok: boolean; error?: string }> }).destinations;
    expect(statuses.map((d) => d.ok)).toEqual([true, false, true]);
    expect(statuses[1].error).toMatch(/injected/);
    for (const s of good) expect(sha(await read(s, 'c/file'))).toBe(sha(data));
    await expect(bad.stat('c/file')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    const r = await putToAll([good[0], bad], 'c/other', source(data), { policy: 'best-effort' });
    expect(r.destinations.map((d) => d.ok)).toEqual([true, false]);
    const none = await putToAll([bad, faulty(new LocalSink(join(dir, 'bad2')), { failAfter: 10 })], 'c/x', source(data), { policy: 'best-effort' }).catch((e: unknown) => e);
    expect(none).toMatchObject({ code: ErrorCodes.DESTINATION_FAILED });
  });

  it('the slowest destination sets the pace: the source is never far ahead of it', async () => {
    const data = randomBytes(16 * 1024 * 1024);
    let produced = 0;
    let maxAhead = 0;
    const slowInner = new LocalSink(join(dir, 'slow'));
    let consumed = 0;
    const slow = faulty(slowInner, { bytesPerTick: 64 * 1024 });
    const counting: Sink = {
      ...slow,
      put(key, body, options) {
        body.on('data', (c: Buffer) => {
          consumed += c.length;
        });
        return slow.put(key, body, options);
      },
    };
    const timer = setInterval(() => (maxAhead = Math.max(maxAhead, produced - consumed)), 2);
    try {
      await putToAll([new LocalSink(join(dir, 'fast')), counting], 'c/file', source(data, (n) => (produced = n)));
    } finally {
      clearInterval(timer);
    }
    expect(sha(await read(slowInner, 'c/file'))).toBe(sha(data));
    expect(maxAhead).toBeLessThan(6 * 1024 * 1024);
  });

  it('a failing source leaves no object anywhere', async () => {
    const sinks = [new LocalSink(join(dir, 'a')), new LocalSink(join(dir, 'b'))];
    const body = Readable.from(
      (async function* () {
        yield randomBytes(1024 * 1024);
        throw new Error('source broke');
      })(),
    );
    await expect(putToAll(sinks, 'c/file', body)).rejects.toThrow(/source broke/);
    for (const s of sinks) await expect(s.stat('c/file')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
  });
});
