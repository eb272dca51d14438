import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSink } from '../../src/sinks/local.js';
import { ErrorCodes } from '../../src/errors.js';

let dir: string;
let sink: LocalSink;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pv-sink-'));
  sink = new LocalSink(join(dir, 'dest'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function text(s: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

describe('LocalSink', () => {
  it('puts, gets (whole and ranges), stats, lists and removes', async () => {
    await sink.put('chain/a.bin', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(await text(await sink.get('chain/a.bin'))).toBe('hello world');
    expect(await text(await sink.get('chain/a.bin', { start: 6, end: 8 }))).toBe('wor');
    expect((await sink.stat('chain/a.bin')).size).toBe(11);
    const keys: string[] = [];
    for await (const o of sink.list('chain/')) keys.push(o.key);
    expect(keys).toEqual(['chain/a.bin']);
    await sink.remove('chain/a.bin');
    await sink.remove('chain/a.bin');
    await expect(sink.stat('chain/a.bin')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
  });

  it('never overwrites a backup file unless asked, and replaces atomically when asked', async () => {
    await sink.put('k', Readable.from([Buffer.from('one')]));
    await expect(sink.put('k', Readable.from([Buffer.from('two')]))).rejects.toMatchObject({ code: ErrorCodes.DESTINATION_NOT_EMPTY });
    expect(await text(await sink.get('k'))).toBe('one');
    await sink.put('k', Readable.from([Buffer.from('three')]), { overwrite: true });
    expect(await text(await sink.get('k'))).toBe('three');
  });

  it('leaves nothing under the key (and no in-progress file) when the body fails or is aborted', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1000));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(sink.put('chain/bad.bin', failing)).rejects.toThrow('source broke');
    expect(existsSync(join(dir, 'dest/chain/bad.bin'))).toBe(false);
    expect(readdirSync(join(dir, 'dest/chain'))).toEqual([]);
    const ac = new AbortController();
    const endless = new Readable({ read() { this.push(Buffer.alloc(65536)); } });
    const p = sink.put('chain/aborted.bin', endless, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(readdirSync(join(dir, 'dest/chain'))).toEqual([]);
  });

  it('refuses keys that escape the folder', async () => {
    for (const bad of ['../x', '/abs', 'a//b', 'a/./b', '']) {
      await expect(sink.put(bad, Readable.from([]))).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    }
  });
});
