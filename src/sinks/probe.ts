/**
 * probe: "test connection" for a destination — what the Studio's button and
 * `POST /destinations/test` run. It does what a backup does, in small: open the sink
 * (credentials from the environment), put a tiny object under `.pagevault-probe/`, stat it,
 * read it back, remove it. Without the retry wrapper, so an unreachable host fails fast.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { errorInfo } from '../errors.js';
import { openSink, redact } from './registry.js';
import type { Sink } from './sink.js';

/** ProbeResult: whether the destination took a write, and what failed if not. */
export interface ProbeResult {
  destination: string;
  ok: boolean;
  ms: number;
  /** The step that failed: open, put, stat, get, remove. */
  step?: string;
  error?: { code: string; message: string };
}

/** probeDestination: see the module comment. Never throws; the result says what failed. */
export async function probeDestination(destination: string): Promise<ProbeResult> {
  const started = performance.now();
  const shown = redact(destination);
  let step = 'open';
  let sink: Sink | undefined;
  try {
    sink = await openSink(destination, { retry: false });
    const key = `.pagevault-probe/${randomUUID()}`;
    const body = Buffer.from(`pagevault connection test ${new Date().toISOString()}\n`);
    step = 'put';
    await sink.put(key, Readable.from([body]));
    step = 'stat';
    const info = await sink.stat(key);
    if (info.size !== body.length) throw new Error(`the test object reads back ${info.size} bytes, not ${body.length}`);
    step = 'get';
    const chunks: Buffer[] = [];
    for await (const c of await sink.get(key)) chunks.push(c as Buffer);
    if (!Buffer.concat(chunks).equals(body)) throw new Error('the test object reads back different bytes');
    step = 'remove';
    await sink.remove(key);
    return { destination: shown, ok: true, ms: performance.now() - started };
  } catch (err) {
    return { destination: shown, ok: false, ms: performance.now() - started, step, error: errorInfo(err) };
  } finally {
    await sink?.close().catch(() => undefined);
  }
}
