// Teardown (STYLE.md habit 7): the addon loads in worker threads, and terminating a worker while envInfo calls are
// still on the libuv pool must not crash the process. Before NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS was defined in
// binding.gyp, the completion callback ran during the worker's teardown and node-addon-api aborted the process.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { envInfo } from '../../src/snapshot/env-info.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();
const ADDON = fileURLToPath(new URL('../../build/Release/pagevault_native.node', import.meta.url));

// Plain CommonJS so the worker needs no TypeScript loader: start 64 calls, report each result.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addon);
for (let i = 0; i < 64; i++) {
  addon.envInfo(workerData.envDir).then(
    (info) => parentPort.postMessage({ lastTxnId: info.lastTxnId }),
    (err) => parentPort.postMessage({ error: err.code || String(err) }),
  );
}
parentPort.postMessage('started');
`;

function startWorker(envDir: string): Worker {
  return new Worker(WORKER_SOURCE, { eval: true, workerData: { addon: ADDON, envDir } });
}

describe('envInfo in worker threads', () => {
  it('survives workers terminated with calls in flight, and works in workers that finish', async () => {
    const root = ctx.open();
    await root.transaction(() => {
      for (let k = 0; k < 50_000; k++) root.put(`key-${k}`, `value-${k}`);
    });
    const envDir = join(ctx.dir, 'env');
    const expected = await envInfo(envDir);

    for (let round = 0; round < 10; round++) {
      const worker = startWorker(envDir);
      await new Promise((resolve) => worker.once('message', resolve));
      expect(await worker.terminate()).toBe(1);
    }

    const worker = startWorker(envDir);
    const results: Array<{ lastTxnId?: number; error?: string }> = [];
    await new Promise<void>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (message: unknown) => {
        if (message === 'started') return;
        results.push(message as { lastTxnId?: number; error?: string });
        if (results.length === 64) resolve();
      });
    });
    await worker.terminate();
    expect(results.every((r) => r.lastTxnId === expected.lastTxnId)).toBe(true);

    // The main thread's binding is unaffected.
    expect((await envInfo(envDir)).lastTxnId).toBe(expected.lastTxnId);
  });
});
