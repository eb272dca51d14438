/**
 * suite: the sink conformance suite (STYLE.md: one shared suite every storage backend
 * runs). `describeSinkConformance(label, open)` registers vitest tests that check every
 * guarantee of the Sink contract in src/sinks/sink.ts against a real backend: a fresh,
 * empty sink per test from `open()`, whose `cleanup` runs after it.
 *
 * Backends whose server cannot start must fail these tests, never skip them.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/errors.js';
import { HOST_TAG, IN_PROGRESS } from '../../../src/sinks/in-progress.js';
import type { Sink } from '../../../src/sinks/sink.js';

/** OpenedSink: a fresh, empty sink and how to dispose of it. */
export interface OpenedSink {
  sink: Sink;
  cleanup(): Promise<void>;
}

/** SuiteOptions: sizes the backend should be exercised with. */
export interface SuiteOptions {
  /** Bytes of the "large" object (several upload parts / blocks); default 24 MiB. */
  largeBytes?: number;
  /** Per-test timeout; default 60 s. */
  timeoutMs?: number;
}

async function bytesOf(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(parts);
}

async function keysOf(sink: Sink, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of sink.list(prefix)) keys.push(o.key);
  return keys.sort();
}

/** chunked: `data` as a stream of `size`-byte chunks (with a pause, like a real producer). */
function chunked(data: Buffer, size = 1 << 20): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < data.length; i += size) {
        yield data.subarray(i, i + size);
        await new Promise((r) => setImmediate(r));
      }
    })(),
  );
}

/** failing: a stream that yields `good` bytes, then errors. */
function failing(good: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield good;
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('producer failed');
    })(),
  );
}

export function describeSinkConformance(label: string, open: () => Promise<OpenedSink>, options: SuiteOptions = {}): void {
  const largeBytes = options.largeBytes ?? 24 * 1024 * 1024;
  const timeout = options.timeoutMs ?? 60_000;
  describe(`sink conformance: ${label}`, () => {
    let opened: OpenedSink | undefined;
    const fresh = async (): Promise<Sink> => {
      opened = await open();
      return opened.sink;
    };
    afterEach(async () => {
      const o = opened;
      opened = undefined;
      if (o) {
        await o.sink.close();
        await o.sink.close(); // idempotent
        await o.cleanup();
      }
    });

    it('puts, gets whole and by range, stats, lists by prefix and removes (idempotently)', async () => {
      const sink = await fresh();
      const r = await sink.put('chain-a/file.bin', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
      expect(r).toMatchObject({ key: 'chain-a/file.bin', size: 11 });
      await sink.put('chain-a/manifest.json', Readable.from([Buffer.from('{}')]));
      await sink.put('chain-b/file.bin', Readable.from([Buffer.from('x')]));
      expect((await bytesOf(await sink.get('chain-a/file.bin'))).toString()).toBe('hello world');
      if (sink.properties.rangeReads) {
        expect((await bytesOf(await sink.get('chain-a/file.bin', { start: 6, end: 8 }))).toString()).toBe('wor');
        expect((await bytesOf(await sink.get('chain-a/file.bin', { start: 6 }))).toString()).toBe('world');
      }
      const st = await sink.stat('chain-a/file.bin');
      expect(st.size).toBe(11);
      expect(st.modified).toBeInstanceOf(Date);
      expect(await keysOf(sink, 'chain-a/')).toEqual(['chain-a/file.bin', 'chain-a/manifest.json']);
      expect(await keysOf(sink, '')).toEqual(['chain-a/file.bin', 'chain-a/manifest.json', 'chain-b/file.bin']);
      await sink.remove('chain-a/file.bin');
      await sink.remove('chain-a/file.bin');
      await expect(sink.stat('chain-a/file.bin')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      await expect(sink.get('chain-a/file.bin')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      expect(await keysOf(sink, 'chain-a/')).toEqual(['chain-a/manifest.json']);
    }, timeout);

    it('an empty object and a missing key', async () => {
      const sink = await fresh();
      await sink.put('empty', Readable.from([]));
      expect((await sink.stat('empty')).size).toBe(0);
      expect((await bytesOf(await sink.get('empty'))).length).toBe(0);
      await expect(sink.stat('nothing/here')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      expect(await keysOf(sink, 'nothing/')).toEqual([]);
    }, timeout);

    it('never overwrites unless asked; overwrite replaces the object', async () => {
      const sink = await fresh();
      await sink.put('k/v', Readable.from([Buffer.from('one')]));
      await expect(sink.put('k/v', Readable.from([Buffer.from('two')]))).rejects.toMatchObject({ code: ErrorCodes.DESTINATION_NOT_EMPTY });
      expect((await bytesOf(await sink.get('k/v'))).toString()).toBe('one');
      await sink.put('k/v', Readable.from([Buffer.from('three')]), { overwrite: true });
      expect((await bytesOf(await sink.get('k/v'))).toString()).toBe('three');
    }, timeout);

    it(`stores a large object (${Math.round(largeBytes / 1048576)} MiB, streamed) byte for byte, and reads a range of it`, async () => {
      const sink = await fresh();
      const data = randomBytes(largeBytes);
      await sink.put('big/object', chunked(data));
      expect((await sink.stat('big/object')).size).toBe(largeBytes);
      const back = await bytesOf(await sink.get('big/object'));
      expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      if (sink.properties.rangeReads) {
        const start = largeBytes - 5_000_123;
        const part = await bytesOf(await sink.get('big/object', { start, end: start + 999_999 }));
        expect(part.equals(data.subarray(start, start + 1_000_000))).toBe(true);
      }
    }, timeout);

    it('a put whose source fails leaves nothing under the key (and nothing listed)', async () => {
      const sink = await fresh();
      await expect(sink.put('broken/file', failing(randomBytes(3 * 1024 * 1024)))).rejects.toThrow();
      await expect(sink.stat('broken/file')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      expect(await keysOf(sink, '')).toEqual([]);
    }, timeout);

    it('an aborted put leaves nothing under the key', async () => {
      const sink = await fresh();
      const controller = new AbortController();
      const slow = Readable.from(
        (async function* () {
          for (let i = 0; i < 50; i++) {
            yield randomBytes(256 * 1024);
            await new Promise((r) => setTimeout(r, 10));
          }
        })(),
      );
      setTimeout(() => controller.abort(), 60);
      await expect(sink.put('aborted/file', slow, { signal: controller.signal })).rejects.toThrow();
      await expect(sink.stat('aborted/file')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      expect(await keysOf(sink, '')).toEqual([]);
    }, timeout);

    it('sweepAbandoned (where a put writes and renames a file): removes only what a dead process of this machine left', async () => {
      const sink = await fresh();
      if (sink.sweepAbandoned === undefined) return; // object stores never show an unfinished upload
      // A pid that surely belonged to a process that has exited: a child we ran to completion.
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      // In-progress files as a killed put leaves them (put under such names here, then renamed into place).
      const abandoned = `chain/a.${dead}@${HOST_TAG}${IN_PROGRESS}`;
      const kept = [`chain/b.${dead}@another-host${IN_PROGRESS}`, `chain/c.${process.pid}@${HOST_TAG}${IN_PROGRESS}`, `chain/d.1@${HOST_TAG}${IN_PROGRESS}`];
      await sink.put('chain/whole', Readable.from([Buffer.from('whole')]));
      for (const key of [abandoned, ...kept]) await sink.put(key, Readable.from([Buffer.from('partial')]));
      expect(await keysOf(sink, '')).toEqual(['chain/whole']); // in-progress files are never listed
      expect(await sink.sweepAbandoned()).toEqual([abandoned]);
      await expect(sink.stat(abandoned)).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      for (const key of kept) expect((await sink.stat(key)).size).toBe(7);
      expect(await sink.sweepAbandoned()).toEqual([]);
    }, timeout);

    it('refuses unsafe keys', async () => {
      const sink = await fresh();
      for (const key of ['', '/abs', 'a/../b', 'a//b', './a']) {
        await expect(sink.put(key, Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      }
    }, timeout);
  });
}
