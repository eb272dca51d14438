/**
 * protocol: messages between the runner (parent) and `child.ts`. The parent passes a
 * ChildSpec as JSON in argv[2]; the child answers over the IPC channel with `phase`
 * messages around its timed step (so the parent samples RSS only then) and exactly one
 * `result` or `error` message before it exits.
 */
import type { DatasetInfo } from './datasets.js';
import type { ExternalUsage } from './scenario.js';

/** CacheMode: how the page cache is prepared before each timed step. */
export type CacheMode = 'warm' | 'drop';

/** ChildSpec: one run of one scenario. */
export interface ChildSpec {
  scenario: string;
  run: number;
  outDir: string;
  sharedDir: string;
  cacheMode: CacheMode;
  dataset: DatasetInfo;
}

/** ChildResult: what the child measured. */
export interface ChildResult {
  /** Wall time of the timed step (performance.now in the child). */
  wallMs: number;
  outputBytes: number;
  /** ru_maxrss of the child after the timed step (process.resourceUsage().maxRSS). */
  childMaxRssBytes: number;
  /** ru_maxrss of the child before the timed step (after prepare and cache warming). */
  childMaxRssBeforeBytes: number;
  /** User + system CPU of the child process during the timed step (all its threads). */
  childCpuMs: number;
  /** Set when the work ran in an external program. */
  external?: ExternalUsage;
  /** Bytes pre-read into the page cache (warm mode) or 0. */
  warmedBytes: number;
  extra: Record<string, unknown>;
}

/** ChildMessage: child → parent. */
export type ChildMessage =
  | { type: 'phase'; phase: 'timed-start' | 'timed-end' }
  | { type: 'result'; result: ChildResult }
  | { type: 'error'; error: { code?: string; message: string; stack?: string } };
