/**
 * report: the shape of the benchmark's JSON output (`--json FILE`) and the printed
 * table. Pure: builds strings and objects, never writes.
 *
 * JSON schema `pagevault-bench/1`:
 *   { schema, startedAt, finishedAt, argv, machine, options, dataset, baseline,
 *     scenarios: [ { name, description, isBaseline, ok, error?, runs: [RunRecord],
 *                    summary: ScenarioSummary | null } ] }
 * Times are milliseconds, sizes bytes, throughput MB/s (10^6 bytes of data.mdb per
 * second of median wall time), ratios are median wall time ÷ the baseline's.
 */
import type { DatasetInfo } from './datasets.js';
import type { CacheMode } from './protocol.js';
import type { ProcessPeak } from './rss.js';
import { max, median, ratio, summarize, throughput, type Summary } from './stats.js';

/** REPORT_SCHEMA: bump on incompatible changes to the JSON. */
export const REPORT_SCHEMA = 'pagevault-bench/1';

/** ErrorInfo: a failure, with the PAGEVAULT_ERR_* code when there is one. */
export interface ErrorInfo {
  code?: string;
  message: string;
}

/** RunRecord: one child process. */
export interface RunRecord {
  run: number;
  ok: boolean;
  error?: ErrorInfo;
  wallMs?: number;
  outputBytes?: number;
  /** Exact ru_maxrss of the worker: the child itself, or the external program. */
  peakRssBytes?: number;
  /** `getrusage` (child's process.resourceUsage().maxRSS), `gnu-time` or `vmhwm-poll`. */
  peakRssMethod?: string;
  /** Which process peakRssBytes belongs to (`node` or e.g. `restic`). */
  worker?: string;
  /** Largest sampled RssAnon of the worker during the timed step; null when never sampled. */
  peakAnonBytes?: number | null;
  /** CPU of the worker during the timed step; null when unknown. */
  cpuMs?: number | null;
  /** The Node child's own numbers (equal to the worker's for in-process scenarios). */
  childMaxRssBytes?: number;
  childMaxRssBeforeBytes?: number;
  childCpuMs?: number;
  warmedBytes?: number;
  /** Wall time of the whole child process (start to exit) seen by the parent. */
  processWallMs: number;
  sampled: ProcessPeak[];
  extra?: Record<string, unknown>;
}

/** ScenarioSummary: over the successful runs. */
export interface ScenarioSummary {
  okRuns: number;
  wallMs: Summary;
  throughputMBps: number | null;
  outputBytes: number;
  peakRssBytes: number;
  peakAnonBytes: number | null;
  cpuMs: number | null;
  /** Median wall time ÷ the baseline's median; null when the baseline failed. */
  ratioToBaseline: number | null;
}

/** ScenarioRecord: one scenario of the invocation. */
export interface ScenarioRecord {
  name: string;
  description: string;
  isBaseline: boolean;
  ok: boolean;
  error?: ErrorInfo;
  runs: RunRecord[];
  summary: ScenarioSummary | null;
}

/** MachineInfo: where it ran. */
export interface MachineInfo {
  node: string;
  platform: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  totalMemBytes: number;
  filesystemFreeBytes: number;
  gnuTime: boolean;
  restic: string | null;
}

/** BenchReport: the whole JSON document. */
export interface BenchReport {
  schema: typeof REPORT_SCHEMA;
  startedAt: string;
  finishedAt: string;
  argv: string[];
  machine: MachineInfo;
  options: { size: string; seed: number; runs: number; cacheMode: CacheMode; dataDir: string; order: 'round-robin' };
  dataset: DatasetInfo;
  baseline: string;
  scenarios: ScenarioRecord[];
}

/** summarizeScenario: the summary over `runs`' successful runs, or null when none succeeded. */
export function summarizeScenario(runs: readonly RunRecord[], sourceBytes: number): Omit<ScenarioSummary, 'ratioToBaseline'> | null {
  const ok = runs.filter((r) => r.ok && r.wallMs !== undefined);
  if (ok.length === 0) return null;
  const wall = summarize(ok.map((r) => r.wallMs as number));
  const anon = ok.map((r) => r.peakAnonBytes).filter((x): x is number => typeof x === 'number');
  const cpu = ok.map((r) => r.cpuMs).filter((x): x is number => typeof x === 'number');
  const tput = throughput(sourceBytes, wall.median);
  return {
    okRuns: ok.length,
    wallMs: wall,
    throughputMBps: tput === null ? null : tput / 1e6,
    outputBytes: median(ok.map((r) => r.outputBytes ?? 0)),
    peakRssBytes: max(ok.map((r) => r.peakRssBytes ?? 0)),
    peakAnonBytes: anon.length ? max(anon) : null,
    cpuMs: cpu.length ? median(cpu) : null,
  };
}

/** withRatios: fill in ratioToBaseline for every scenario against `baseline`. */
export function withRatios(records: ScenarioRecord[], baseline: string): ScenarioRecord[] {
  const base = records.find((r) => r.name === baseline)?.summary?.wallMs.median;
  for (const r of records) {
    if (r.summary) r.summary.ratioToBaseline = ratio(r.summary.wallMs.median, base);
  }
  return records;
}

/** fmtBytes: decimal units (MB = 10^6), matching MB/s. */
export function fmtBytes(n: number | null | undefined): string {
  if (n == null) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** fmtSeconds: milliseconds as seconds with 3 significant digits. */
export function fmtSeconds(ms: number | null | undefined): string {
  if (ms == null) return '–';
  const s = ms / 1000;
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${s.toFixed(3)} s`;
}

function fmtRatio(r: number | null | undefined): string {
  if (r == null) return 'n/a';
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

function table(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** renderReport: the human-readable output: a header block, the table and failures. */
export function renderReport(rep: BenchReport): string {
  const d = rep.dataset;
  const out: string[] = [];
  out.push(
    `pagevault bench — dataset ${d.size} (seed ${d.seed}): ${d.docs.toLocaleString('en-US')} docs, ` +
      `data.mdb ${fmtBytes(d.dataMdbBytes)} (pages in use ${fmtBytes(d.usedBytes)}, ${d.namedDbs.length} named DBs), ` +
      `${d.cached ? 'cached' : 'generated now'}, generator ${d.generator.version}`,
  );
  out.push(
    rep.options.cacheMode === 'drop'
      ? 'page cache: COLD — sync + drop_caches=3 before every timed step'
      : 'page cache: WARM — sync, then the inputs pre-read before every timed step (--drop-caches for cold)',
  );
  out.push(
    `runs: ${rep.options.runs} per scenario, each in a fresh child process, round-robin | ` +
      `node ${rep.machine.node}, ${rep.machine.platform} ${rep.machine.kernel}, ${rep.machine.cpus}× ${rep.machine.cpuModel}, ` +
      `${fmtBytes(rep.machine.totalMemBytes)} RAM`,
  );
  const header = [
    'scenario',
    'ok',
    'median',
    'min',
    'max',
    'MB/s',
    'output',
    'peak RSS',
    'peak anon',
    'CPU',
    `time ÷ ${rep.baseline}`,
  ];
  const rows = rep.scenarios.map((s) => {
    const m = s.summary;
    const worker = s.runs.find((r) => r.ok)?.worker;
    return [
      s.name + (s.isBaseline ? ' *' : ''),
      `${m?.okRuns ?? 0}/${s.runs.length || rep.options.runs}`,
      fmtSeconds(m?.wallMs.median),
      fmtSeconds(m?.wallMs.min),
      fmtSeconds(m?.wallMs.max),
      m?.throughputMBps == null ? '–' : m.throughputMBps.toFixed(1),
      fmtBytes(m?.outputBytes),
      m ? `${fmtBytes(m.peakRssBytes)}${worker && worker !== 'node' ? ` (${worker})` : ''}` : '–',
      fmtBytes(m?.peakAnonBytes),
      fmtSeconds(m?.cpuMs),
      m ? fmtRatio(m.ratioToBaseline) : 'FAILED',
    ];
  });
  out.push('');
  out.push(table(header, rows, [false, true, true, true, true, true, true, true, true, true, true]));
  out.push('');
  out.push(
    `* baseline. MB/s = data.mdb bytes ÷ median wall time of the timed step. peak RSS = ru_maxrss of the worker ` +
      `process (getrusage, or GNU time for external programs; includes mmap'd data.mdb pages). ` +
      `peak anon = largest RssAnon sampled every 50 ms during the timed step. CPU = user+sys of the worker, median.`,
  );
  for (const s of rep.scenarios) {
    if (s.error) out.push(`${s.name}: ${s.error.code ? `${s.error.code}: ` : ''}${s.error.message}`);
    for (const r of s.runs) {
      if (!r.ok && r.error && r.error !== s.error) {
        out.push(`${s.name} run ${r.run}: ${r.error.code ? `${r.error.code}: ` : ''}${r.error.message}`);
      }
    }
  }
  return out.join('\n');
}
