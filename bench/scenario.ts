/**
 * scenario: the contract between the runner and a benchmark scenario module
 * (`bench/scenarios/<name>.ts`). A scenario runs inside a fresh child process
 * (`bench/child.ts`), once per process, in three phases:
 *
 *   1. `prepare(ctx)`   untimed: open the env, create a restic repo, stage inputs …
 *   2. `run(ctx, s)`    TIMED: the one cost this scenario isolates. It must leave its
 *                       output durable (fsync'ed) before returning, because restic fsyncs
 *                       its repository files and a backup is not done until it is on disk.
 *   3. `after(ctx, s)`  untimed: close handles, collect facts for the JSON (`extra`).
 *
 * Between 1 and 2 the child runs `sync` and then either drops the page cache
 * (`--drop-caches`) or pre-reads `inputs(ctx, s)` so every run starts equally warm.
 * After 3 the child measures the output's size (unless `run` reported `outputBytes`)
 * and the parent deletes `ctx.outDir`.
 */
import type { DatasetInfo } from './datasets.js';

/** PeerName: an external program a scenario needs; the runner checks it in the parent first. */
export type PeerName = 'restic';

/** ScenarioContext: what a scenario gets; paths are absolute and on the dataset's filesystem. */
export interface ScenarioContext {
  /** The dataset's lmdb-js environment directory (holds data.mdb). Must not be modified. */
  readonly envDir: string;
  /** `envDir/data.mdb`. */
  readonly dataMdb: string;
  /** A fresh, empty directory for this run's output; deleted by the runner afterwards. */
  readonly outDir: string;
  /**
   * A directory shared by every run of one `npm run bench` invocation (staging copies);
   * deleted when the invocation ends. Runs never overlap, so create-then-rename is enough.
   */
  readonly sharedDir: string;
  readonly dataset: DatasetInfo;
}

/** ExternalUsage: peak RSS and CPU time of an external worker process (restic), measured by the child. */
export interface ExternalUsage {
  /** Program name as in /proc/<pid>/comm, e.g. `restic`. */
  readonly command: string;
  readonly peakRssBytes: number;
  /** How it was measured: `gnu-time` (wait4 rusage, exact) or `vmhwm-poll` (lower bound). */
  readonly method: 'gnu-time' | 'vmhwm-poll';
  /** User + system CPU time; null when not measured (vmhwm-poll). */
  readonly cpuMs: number | null;
}

/** ScenarioRunResult: what the timed step returns. */
export interface ScenarioRunResult {
  /** Bytes written; when omitted the child sums the file sizes under `outputPath` after timing. */
  outputBytes?: number;
  /** File or directory that is the output (a restic repo, not its cache); default `ctx.outDir`. */
  outputPath?: string;
  /** Set when the work ran in an external process; its peak RSS and CPU replace the child's own. */
  external?: ExternalUsage;
  /** Scenario-specific facts for the JSON output (entry counts, repository version …). */
  extra?: Record<string, unknown>;
}

/**
 * Scenario: one benchmark scenario. `S` is the state `prepare` hands to `run` and
 * `after`; methods (not function properties) so a `Scenario<Foo>` can be listed in the
 * registry as a `Scenario<unknown>` (method parameters are bivariant in TypeScript).
 */
export interface Scenario<S = unknown> {
  /** Name on the command line, equal to the module's file name. */
  readonly name: string;
  /** One line for `--help` and the JSON output. */
  readonly description: string;
  /** External programs needed; a missing one fails the scenario with PAGEVAULT_ERR_BENCH_PEER_MISSING. */
  readonly requires?: readonly PeerName[];
  /** Name of the worker process to sample for RSS when it is not the child itself. */
  readonly workerCommand?: string;
  prepare?(ctx: ScenarioContext): Promise<S>;
  /** Files or directories the timed step reads; pre-read in warm mode. Default: data.mdb. */
  inputs?(ctx: ScenarioContext, state: S): readonly string[];
  run(ctx: ScenarioContext, state: S): Promise<ScenarioRunResult>;
  after?(ctx: ScenarioContext, state: S, result: ScenarioRunResult): Promise<Record<string, unknown> | void>;
}
