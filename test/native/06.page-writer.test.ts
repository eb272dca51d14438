import { closeSync, constants as fsConstants, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBinding } from '../../src/native/binding.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv();

describe('native writeRuns', () => {
  it('pwrites each run at its page offset, pages back to back in one buffer', async () => {
    const path = join(tmp.dir, 'f');
    const fd = openSync(path, 'w+');
    try {
      const data = Buffer.concat([Buffer.alloc(1024, 1), Buffer.alloc(512, 2), Buffer.alloc(512, 3)]);
      await loadBinding().writeRuns(fd, Float64Array.from([2, 2, 7, 1, 9, 1]), data, 512);
    } finally {
      closeSync(fd);
    }
    const bytes = readFileSync(path);
    expect(statSync(path).size).toBe(10 * 512);
    expect(bytes.subarray(1024, 2048).every((b) => b === 1)).toBe(true);
    expect(bytes.subarray(3584, 4096).every((b) => b === 2)).toBe(true);
    expect(bytes.subarray(4608, 5120).every((b) => b === 3)).toBe(true);
    expect(bytes.subarray(2048, 3584).every((b) => b === 0)).toBe(true);
  });

  it('writes runs from one buffer per run, each run straight from its own buffer', async () => {
    const path = join(tmp.dir, 'list');
    const fd = openSync(path, 'w+');
    const chunk = Buffer.alloc(4096, 7);
    chunk.fill(4, 100, 100 + 1024);
    chunk.fill(5, 2000, 2000 + 512);
    try {
      // Views of one chunk at offsets that are not page-aligned, as a restore's decoded page records are.
      await loadBinding().writeRuns(fd, Float64Array.from([3, 2, 8, 1]), [chunk.subarray(100, 1124), chunk.subarray(2000, 2512)], 512);
    } finally {
      closeSync(fd);
    }
    const bytes = readFileSync(path);
    expect(statSync(path).size).toBe(9 * 512);
    expect(bytes.subarray(1536, 2560).every((b) => b === 4)).toBe(true);
    expect(bytes.subarray(4096, 4608).every((b) => b === 5)).toBe(true);
    expect(bytes.subarray(0, 1536).every((b) => b === 0)).toBe(true);
    expect(bytes.subarray(2560, 4096).every((b) => b === 0)).toBe(true);
    const b = loadBinding();
    expect(() => b.writeRuns(3, Float64Array.from([2, 1, 4, 1]), [Buffer.alloc(512)], 512)).toThrow(/one buffer per run/);
    expect(() => b.writeRuns(3, Float64Array.from([2, 2]), [Buffer.alloc(512)], 512)).toThrow(/exactly its pages/);
  });

  it('writes long aligned runs through an O_DIRECT descriptor and short ones buffered, byte for byte', async () => {
    const path = join(tmp.dir, 'direct');
    const fd = openSync(path, 'w+');
    let directFd: number;
    try {
      directFd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_DIRECT);
    } catch {
      closeSync(fd);
      return; // this file system takes no O_DIRECT: nothing to check here (the fallback is the plain path above)
    }
    // Unaligned views of one chunk, as decoded page records are: the long run goes through the aligned bounce buffer.
    const chunk = Buffer.alloc(13 + 21 * 4096);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
    const long = chunk.subarray(13, 13 + 20 * 4096);
    const short = chunk.subarray(13 + 20 * 4096, 13 + 21 * 4096);
    try {
      await loadBinding().writeRuns(fd, Float64Array.from([2, 20, 30, 1]), [long, short], 4096, directFd);
    } finally {
      closeSync(directFd);
      closeSync(fd);
    }
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(31 * 4096);
    expect(bytes.subarray(2 * 4096, 22 * 4096).equals(long)).toBe(true);
    expect(bytes.subarray(30 * 4096, 31 * 4096).equals(short)).toBe(true);
    expect(bytes.subarray(22 * 4096, 30 * 4096).every((b) => b === 0)).toBe(true);
  });

  it('refuses inconsistent arguments and reports a failed write with its errno', async () => {
    const b = loadBinding();
    expect(() => b.writeRuns(3, Float64Array.from([2, 1]), Buffer.alloc(100), 512)).toThrow(RangeError);
    expect(() => b.writeRuns(3, Float64Array.from([1, 1]), Buffer.alloc(512), 512)).toThrow(RangeError);
    expect(() => b.writeRuns(3, Float64Array.from([2, 1]), Buffer.alloc(512), 500)).toThrow(RangeError);
    const fd = openSync(join(tmp.dir, 'ro'), 'w');
    closeSync(fd);
    const readOnly = openSync(join(tmp.dir, 'ro'), 'r');
    try {
      await expect(b.writeRuns(readOnly, Float64Array.from([2, 1]), Buffer.alloc(512), 512)).rejects.toMatchObject({ syscall: 'pwrite', errno: -9 });
    } finally {
      closeSync(readOnly);
    }
  });
});
