/**
 * getObject: a large object on a network destination (real s3rver on loopback) read as
 * concurrent ranged parts comes back byte for byte in order, at part boundaries of every
 * kind; a size that is not the object's fails instead of yielding wrong bytes; an abort
 * stops it; a local folder is read with one plain get.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink } from '../../src/sinks/registry.js';
import { LocalSink } from '../../src/sinks/local.js';
import { getObject } from '../../src/sinks/parallel-get.js';
import type { Sink } from '../../src/sinks/sink.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3-server.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const tmp = useTmpEnv('pv-pget-');
let s3: S3Server;
let sink: Sink;
const saved = { ...process.env };
const MiB = 1024 * 1024;
const body = randomBytes(21 * MiB + 12345);

async function all(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  s3 = await startS3Server('pv-pget');
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  sink = await openSink(`s3://${s3.bucket}/p?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true&region=us-east-1&partSize=5MiB`);
  await sink.put('big', Readable.from([body]));
}, 60_000);
afterAll(async () => {
  process.env = saved;
  await sink?.close();
  await s3?.stop();
});

describe('getObject (parallel ranged reads)', () => {
  it('returns the object byte for byte whatever the part size and concurrency', async () => {
    for (const [partSize, concurrency] of [[5 * MiB, 4], [3 * MiB + 7, 2], [MiB, 8], [body.length - 1, 3]] as const) {
      const got = await all(await getObject(sink, 'big', body.length, { partSize, concurrency }));
      expect(got.length, `${partSize}/${concurrency}`).toBe(body.length);
      expect(got.equals(body), `${partSize}/${concurrency}`).toBe(true);
    }
  });

  it('fails on a size that is not the object\'s, and stops on abort', async () => {
    await expect(all(await getObject(sink, 'big', body.length + 10, { partSize: MiB }))).rejects.toThrow(/came back as/);
    const controller = new AbortController();
    const stream = await getObject(sink, 'big', body.length, { partSize: MiB, concurrency: 2, signal: controller.signal });
    let n = 0;
    await expect(
      (async () => {
        for await (const c of stream) {
          n += (c as Buffer).length;
          if (n >= 2 * MiB) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    expect(n).toBeLessThan(body.length);
  });

  it('reads a local folder with one plain get', async () => {
    const local = new LocalSink(tmp.dir);
    await local.put('x', Readable.from([body.subarray(0, 3 * MiB)]));
    let ranged = 0;
    const spy: Sink = new Proxy(local, {
      get(target, prop) {
        if (prop === 'get') return (key: string, range?: unknown) => (range && ranged++, target.get(key, range as never));
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const got = await all(await getObject(spy, 'x', 3 * MiB, { partSize: MiB }));
    expect(got.equals(body.subarray(0, 3 * MiB))).toBe(true);
    expect(ranged).toBe(0);
  });
});
