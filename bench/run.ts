/**
 * run: the benchmark runner (parent process). `npm run bench -- --help` for usage.
 *
 * For each requested scenario and each run it forks `child.js` — a FRESH Node process per
 * run — against a cached generated dataset (datasets.ts), samples the child's process
 * tree for RSS during the timed step (rss.ts), and prints one table in which every row
 * carries its ratio to a baseline measured in the same invocation (the `lmdb-copy` floor
 * by default). Runs go round-robin (run 1 of every scenario, then run 2 …) so slow drift
 * of the machine (page cache, thermal, other tenants) spreads over all scenarios.
 *
 * Why not benchmark.js (the `benchmark` package the project was asked to consider): it times a function repeatedly
 * inside ONE process until the statistics settle. Our unit of work is a whole backup of
 * a 0.2–10+ GB database that takes seconds to minutes and leaves gigabytes on disk, so
 * (1) we can afford only a handful of samples, not the dozens benchmark.js's adaptive
 * sampling wants; (2) every sample needs a fresh process — peak RSS (ru_maxrss) is a
 * per-process high-water mark that never goes down, and lmdb-js/V8 state from one run
 * (mapped pages, JIT, caches) would leak into the next; (3) two of the peers are
 * external programs (restic) that benchmark.js can't time except by wrapping a blocking
 * spawn; (4) each sample needs untimed setup and teardown (restic init, fresh output
 * directory, page-cache drop) that benchmark.js's setup hooks, compiled into the timed
 * function's body, don't isolate. So the harness times one call per child process with
 * performance.now() and keeps its statistics (stats.ts) to median/min/max/percentiles.
 * (So the package is not a dependency; the README's package table says the same.)
 */
import { fork } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchPeerMissingError, ExitCodes } from '../src/errors.js';
import { processAlive } from '../src/util/process.js';
import {
  DatasetUnavailableError,
  ensureDataset,
  generatorInfo,
  resolveDataDir,
  SIZES,
  type DatasetInfo,
  type SizeName,
} from './datasets.js';
import { canDropPageCache, freeBytes, removeTree } from './fs-util.js';
import type { CacheMode, ChildMessage, ChildResult, ChildSpec } from './protocol.js';
import {
  renderReport,
  REPORT_SCHEMA,
  summarizeScenario,
  withRatios,
  type BenchReport,
  type ErrorInfo,
  type MachineInfo,
  type RunRecord,
  type ScenarioRecord,
} from './report.js';
import { resticVersion } from './restic-peer.js';
import { hasGnuTime, TreeSampler } from './rss.js';
import type { PeerName, Scenario } from './scenario.js';
import { DEFAULT_BASELINE, SCENARIOS } from './scenarios/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HERE, 'child.js');

function usage(): string {
  const sizes = (Object.entries(SIZES) as Array<[SizeName, (typeof SIZES)[SizeName]]>)
    .filter(([, s]) => !s.hidden)
    .map(([n, s]) => `    ${n.padEnd(7)} ${s.docs === null ? '' : `${s.docs.toLocaleString('en-US')} docs, `}${s.label}; default --runs ${s.runs}`)
    .join('\n');
  const scen = [...SCENARIOS.values()].map((s) => `    ${s.name.padEnd(18)} ${s.description}`).join('\n');
  return `Usage: npm run bench -- SCENARIO... [options]

Runs each scenario in a fresh child process against a generated dataset (made with
\`pagevault generate\`, cached by size and seed) and prints median/min/max wall time,
throughput, output size and peak RSS, with each scenario's ratio to a baseline
measured in the same invocation.

Scenarios:
${scen}

Options:
  --size NAME       dataset size (default small):
${sizes}
  --runs N          runs per scenario (default per size)
  --seed N          generator seed (default 1)
  --baseline NAME   scenario the ratios are against (default lmdb-copy when listed,
                    else the first); added to the list when missing
  --json FILE       also write all results as JSON (schema ${REPORT_SCHEMA})
  --data-dir DIR    dataset cache and scratch space (default $PAGEVAULT_BENCH_DIR,
                    else ./.bench-data); run outputs go to DIR/tmp (same filesystem)
  --drop-caches     sync and drop the page cache before every timed step (root only);
                    default: pre-read the scenario's inputs (warm cache)
  --list            list scenarios and exit
  -h, --help        this help

A single scenario gets lmdb-copy added as its floor. Scenarios needing restic fail with
PAGEVAULT_ERR_BENCH_PEER_MISSING when it is not installed: run bench/setup.sh.
Exit status: 0 all scenarios ran, 1 some failed, 2 bad command line.`;
}

class UsageError extends Error {}

interface Options {
  scenarios: string[];
  baseline: string;
  size: SizeName;
  runs: number;
  seed: number;
  json: string | undefined;
  dataDir: string;
  cacheMode: CacheMode;
}

function parseOptions(argv: string[]): Options | 'help' | 'list' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        size: { type: 'string', default: 'small' },
        runs: { type: 'string' },
        seed: { type: 'string', default: '1' },
        baseline: { type: 'string' },
        json: { type: 'string' },
        'data-dir': { type: 'string' },
        'drop-caches': { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (values.list) return 'list';
  if (!(values.size in SIZES)) {
    throw new UsageError(`unknown --size ${JSON.stringify(values.size)}; one of ${Object.keys(SIZES).filter((s) => !SIZES[s as SizeName].hidden).join(', ')}`);
  }
  const size = values.size as SizeName;
  const int = (name: string, v: string, minValue: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < minValue) throw new UsageError(`--${name} must be an integer ≥ ${minValue}, got ${JSON.stringify(v)}`);
    return n;
  };
  const runs = values.runs === undefined ? SIZES[size].runs : int('runs', values.runs, 1);
  const seed = int('seed', values.seed, 0);
  if (positionals.length === 0) throw new UsageError('name at least one scenario (see --list)');
  const scenarios: string[] = [];
  for (const name of positionals) {
    if (!SCENARIOS.has(name)) throw new UsageError(`unknown scenario ${JSON.stringify(name)}; one of ${[...SCENARIOS.keys()].join(', ')}`);
    if (!scenarios.includes(name)) scenarios.push(name);
  }
  if (values.baseline !== undefined && !SCENARIOS.has(values.baseline)) {
    throw new UsageError(`unknown --baseline ${JSON.stringify(values.baseline)}`);
  }
  // Every table needs a floor or a peer measured in the same run.
  if (values.baseline === undefined && scenarios.length === 1 && scenarios[0] !== DEFAULT_BASELINE) {
    scenarios.unshift(DEFAULT_BASELINE);
  }
  const baseline = values.baseline ?? (scenarios.includes(DEFAULT_BASELINE) ? DEFAULT_BASELINE : (scenarios[0] as string));
  if (!scenarios.includes(baseline)) scenarios.unshift(baseline);
  return {
    scenarios,
    baseline,
    size,
    runs,
    seed,
    json: values.json,
    dataDir: resolveDataDir(values['data-dir']),
    cacheMode: values['drop-caches'] ? 'drop' : 'warm',
  };
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** cleanStaleScratch: remove DIR/tmp entries left by runners that no longer exist. */
async function cleanStaleScratch(tmpRoot: string): Promise<void> {
  if (!existsSync(tmpRoot)) return;
  for (const name of readdirSync(tmpRoot)) {
    const m = /^(?:run|shared)-(\d+)-/.exec(name);
    if (m && !processAlive(Number(m[1]))) {
      log(`removing leftover ${path.join(tmpRoot, name)}`);
      await removeTree(path.join(tmpRoot, name));
    }
  }
}

let currentChild: ReturnType<typeof fork> | undefined;
let currentOutDir: string | undefined;

/** runChild: one run of one scenario in a fresh child process. */
async function runChild(spec: ChildSpec, scenario: Scenario): Promise<RunRecord> {
  const t0 = performance.now();
  const child = fork(CHILD, [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], execArgv: [] });
  currentChild = child;
  const sampler = new TreeSampler(child.pid as number);
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    process.stderr.write(s);
    stderrTail = (stderrTail + s).slice(-2000);
  });
  let result: ChildResult | undefined;
  let error: ErrorInfo | undefined;
  child.on('message', (msg: ChildMessage) => {
    if (msg.type === 'phase') {
      if (msg.phase === 'timed-start') {
        sampler.active = true;
        sampler.sample();
      } else {
        sampler.sample();
        sampler.active = false;
      }
    } else if (msg.type === 'result') {
      result = msg.result;
    } else if (msg.type === 'error') {
      error = { code: msg.error.code, message: msg.error.message };
    }
  });
  // 'exit' can fire before the last IPC messages are delivered; 'disconnect' comes after them.
  const disconnected = new Promise<void>((resolve) => child.once('disconnect', resolve));
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (child.connected) await disconnected;
  currentChild = undefined;
  const sampled = sampler.stop();
  const processWallMs = performance.now() - t0;
  if (!result) {
    return {
      run: spec.run,
      ok: false,
      error: error ?? {
        message: `child exited with ${exit.signal ?? exit.code} before reporting${stderrTail ? `: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
      },
      processWallMs,
      sampled,
    };
  }
  // The worker is the child itself, or the external program the scenario names.
  const workerName = scenario.workerCommand;
  const workerSamples = sampled.filter((p) => (workerName ? p.name === workerName : p.pid === child.pid));
  const peakAnon = workerSamples.length ? Math.max(...workerSamples.map((p) => p.peakRssAnonBytes)) : null;
  const ext = result.external;
  return {
    run: spec.run,
    ok: true,
    wallMs: result.wallMs,
    outputBytes: result.outputBytes,
    peakRssBytes: ext ? ext.peakRssBytes : result.childMaxRssBytes,
    peakRssMethod: ext ? ext.method : 'getrusage',
    worker: ext ? ext.command : 'node',
    peakAnonBytes: peakAnon,
    cpuMs: ext ? ext.cpuMs : result.childCpuMs,
    childMaxRssBytes: result.childMaxRssBytes,
    childMaxRssBeforeBytes: result.childMaxRssBeforeBytes,
    childCpuMs: result.childCpuMs,
    warmedBytes: result.warmedBytes,
    processWallMs,
    sampled,
    extra: result.extra,
  };
}

function machineInfo(dataDir: string): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
    kernel: os.release(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemBytes: os.totalmem(),
    filesystemFreeBytes: freeBytes(dataDir).free,
    gnuTime: hasGnuTime(),
    restic: resticVersion(),
  };
}

/** missingPeer: a BenchPeerMissingError for the first peer of `scenario` that is not installed. */
function missingPeer(scenario: Scenario, installed: ReadonlyMap<PeerName, boolean>): BenchPeerMissingError | null {
  for (const peer of scenario.requires ?? []) {
    if (!installed.get(peer)) {
      return new BenchPeerMissingError(`${peer} is not installed (not on PATH); run bench/setup.sh to install it`);
    }
  }
  return null;
}

async function main(argv: string[]): Promise<number> {
  let opts: Options | 'help' | 'list';
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n(npm run bench -- --help for usage)\n`);
      return ExitCodes.USAGE;
    }
    throw err;
  }
  if (opts === 'help') {
    process.stdout.write(usage() + '\n');
    return ExitCodes.OK;
  }
  if (opts === 'list') {
    for (const s of SCENARIOS.values()) process.stdout.write(`${s.name}\t${s.description}\n`);
    return ExitCodes.OK;
  }
  if (opts.cacheMode === 'drop' && !(await canDropPageCache())) {
    process.stderr.write('bench: --drop-caches needs write access to /proc/sys/vm/drop_caches (run as root)\n');
    return ExitCodes.USAGE;
  }
  const startedAt = new Date().toISOString();
  await fsp.mkdir(opts.dataDir, { recursive: true });
  const tmpRoot = path.join(opts.dataDir, 'tmp');
  await fsp.mkdir(tmpRoot, { recursive: true });
  await cleanStaleScratch(tmpRoot);

  let dataset: DatasetInfo;
  try {
    dataset = await ensureDataset({ dataDir: opts.dataDir, size: opts.size, seed: opts.seed, generator: await generatorInfo(), log });
  } catch (err) {
    if (err instanceof DatasetUnavailableError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return ExitCodes.FAILURE;
    }
    throw err;
  }
  log(
    `dataset ${dataset.dir}: ${dataset.docs.toLocaleString('en-US')} docs, data.mdb ${(dataset.dataMdbBytes / 1e6).toFixed(1)} MB` +
      `${dataset.cached ? ' (cached)' : ''}`,
  );

  const installed = new Map<PeerName, boolean>([['restic', resticVersion() !== null]]);
  const records: ScenarioRecord[] = opts.scenarios.map((name) => {
    const s = SCENARIOS.get(name) as Scenario;
    const missing = missingPeer(s, installed);
    if (missing) process.stderr.write(`bench: ${name}: ${missing.code}: ${missing.message}\n`);
    return {
      name,
      description: s.description,
      isBaseline: name === opts.baseline,
      ok: missing === null,
      error: missing ? { code: missing.code, message: missing.message } : undefined,
      runs: [],
      summary: null,
    };
  });

  const sharedDir = await fsp.mkdtemp(path.join(tmpRoot, `shared-${process.pid}-`));
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping`);
    if (currentChild?.pid) currentChild.kill('SIGKILL');
    void Promise.all([removeTree(sharedDir), currentOutDir ? removeTree(currentOutDir) : undefined]).finally(() =>
      process.exit(130),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (let run = 1; run <= opts.runs; run++) {
      for (const rec of records) {
        if (rec.error) continue;
        const scenario = SCENARIOS.get(rec.name) as Scenario;
        const outDir = await fsp.mkdtemp(path.join(tmpRoot, `run-${process.pid}-${rec.name}-${run}-`));
        currentOutDir = outDir;
        log(`${rec.name} run ${run}/${opts.runs} …`);
        try {
          const r = await runChild(
            { scenario: rec.name, run, outDir, sharedDir, cacheMode: opts.cacheMode, dataset },
            scenario,
          );
          rec.runs.push(r);
          log(
            r.ok
              ? `${rec.name} run ${run}: ${((r.wallMs ?? 0) / 1000).toFixed(3)} s, output ${((r.outputBytes ?? 0) / 1e6).toFixed(1)} MB`
              : `${rec.name} run ${run} FAILED: ${r.error?.code ? `${r.error.code}: ` : ''}${r.error?.message}`,
          );
        } finally {
          await removeTree(outDir);
          currentOutDir = undefined;
        }
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await removeTree(sharedDir);
  }

  for (const rec of records) {
    const s = summarizeScenario(rec.runs, dataset.dataMdbBytes);
    rec.summary = s ? { ...s, ratioToBaseline: null } : null;
    if (rec.runs.some((r) => !r.ok)) rec.ok = false;
  }
  withRatios(records, opts.baseline);

  const report: BenchReport = {
    schema: REPORT_SCHEMA,
    startedAt,
    finishedAt: new Date().toISOString(),
    argv,
    machine: machineInfo(opts.dataDir),
    options: {
      size: opts.size,
      seed: opts.seed,
      runs: opts.runs,
      cacheMode: opts.cacheMode,
      dataDir: opts.dataDir,
      order: 'round-robin',
    },
    dataset,
    baseline: opts.baseline,
    scenarios: records,
  };
  process.stdout.write('\n' + renderReport(report) + '\n');
  if (opts.json) {
    const file = path.resolve(opts.json);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`\nresults: ${file}\n`);
  }
  return records.every((r) => r.ok) ? ExitCodes.OK : ExitCodes.FAILURE;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('bench: internal error:', err);
    process.exitCode = ExitCodes.INTERNAL;
  },
);
