/**
 * child: entry point of one benchmark run, started by `run.ts` as a fresh Node process
 * (`fork`), so every run begins with a cold V8 heap, no lmdb-js state and its own
 * `ru_maxrss`. Runs one scenario once: prepare → sync + warm/drop page cache → TIMED
 * run → after → measure output, and reports a ChildResult over IPC (see protocol.ts).
 */
import path from 'node:path';
import { dropPageCache, pathBytes, syncAll, warmPageCache } from './fs-util.js';
import type { ChildMessage, ChildResult, ChildSpec } from './protocol.js';
import type { ScenarioContext } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('bench/child.js must be started by bench/run.js (no IPC channel)'));
      return;
    }
    process.send(msg, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ChildSpec;
  const scenario = SCENARIOS.get(spec.scenario);
  if (!scenario) throw new RangeError(`Expected a known scenario but received ${JSON.stringify(spec.scenario)}`);
  const ctx: ScenarioContext = {
    envDir: spec.dataset.envDir,
    dataMdb: path.join(spec.dataset.envDir, 'data.mdb'),
    outDir: spec.outDir,
    sharedDir: spec.sharedDir,
    dataset: spec.dataset,
  };

  const state = scenario.prepare ? await scenario.prepare(ctx) : undefined;

  // Flush everything prepare (and earlier runs) wrote, so writeback doesn't land in the
  // timed step; then start from a known page-cache state.
  syncAll();
  let warmedBytes = 0;
  if (spec.cacheMode === 'drop') {
    dropPageCache();
  } else {
    warmedBytes = await warmPageCache(scenario.inputs ? scenario.inputs(ctx, state) : [ctx.dataMdb]);
  }

  const rssBefore = process.resourceUsage().maxRSS * 1024;
  await send({ type: 'phase', phase: 'timed-start' });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await scenario.run(ctx, state);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rssAfter = process.resourceUsage().maxRSS * 1024;
  await send({ type: 'phase', phase: 'timed-end' });

  const afterExtra = scenario.after ? await scenario.after(ctx, state, result) : undefined;
  const outputBytes = result.outputBytes ?? (await pathBytes(result.outputPath ?? ctx.outDir));
  const out: ChildResult = {
    wallMs,
    outputBytes,
    childMaxRssBytes: rssAfter,
    childMaxRssBeforeBytes: rssBefore,
    childCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    external: result.external,
    warmedBytes,
    extra: { ...result.extra, ...(afterExtra ?? {}) },
  };
  await send({ type: 'result', result: out });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    const rawCode = (e as { code?: unknown }).code;
    const code = typeof rawCode === 'string' ? rawCode : undefined;
    try {
      await send({ type: 'error', error: { code, message: e.message, stack: e.stack } });
    } catch {
      console.error(e);
    }
    process.exit(1);
  },
);
