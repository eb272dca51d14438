/**
 * End-to-end test of the benchmark runner: spawns the BUILT runner (dist/bench/run.js,
 * made by `npm run build:ts`, which `npm test` runs first) on the hidden `tiny` size and
 * checks the JSON it writes. No assertions on wall-clock numbers, only on shape and on
 * facts that don't depend on timing (entry counts, sizes, cache reuse, cleanup).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const RUNNER = join(ROOT, 'dist', 'bench', 'run.js');

interface Run {
  run: number;
  ok: boolean;
  wallMs: number;
  outputBytes: number;
  peakRssBytes: number;
  peakRssMethod: string;
  worker: string;
  processWallMs: number;
  extra: Record<string, unknown>;
}
interface Report {
  schema: string;
  baseline: string;
  options: { size: string; runs: number; cacheMode: string };
  dataset: {
    size: string;
    docs: number;
    dataMdbBytes: number;
    cached: boolean;
    generator: { kind: string; version: string };
    namedDbs: Array<{ name: string; entries: number }>;
  };
  scenarios: Array<{
    name: string;
    isBaseline: boolean;
    ok: boolean;
    error?: { code?: string; message: string };
    runs: Run[];
    summary: null | {
      okRuns: number;
      wallMs: { median: number; min: number; max: number };
      throughputMBps: number;
      outputBytes: number;
      peakRssBytes: number;
      ratioToBaseline: number | null;
    };
  }>;
}

let work: string;

function bench(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [RUNNER, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 110_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench runner (end to end, tiny dataset)', () => {
  beforeAll(() => {
    if (!existsSync(RUNNER)) throw new Error(`${RUNNER} is missing: run \`npm run build:ts\` first`);
    work = mkdtempSync(join(tmpdir(), 'pagevault-bench-test-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs lmdb-copy and naive-json-export and writes JSON of the documented shape', () => {
    const json = join(work, 'out.json');
    const dataDir = join(work, 'data');
    const r = bench(['lmdb-copy', 'naive-json-export', '--size', 'tiny', '--runs', '1', '--json', json, '--data-dir', dataDir]);
    expect(r.stderr + r.stdout).not.toMatch(/internal error/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/time ÷ lmdb-copy/);
    expect(r.stdout).toContain(`results: ${json}`);

    const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(rep.schema).toBe('pagevault-bench/1');
    expect(rep.baseline).toBe('lmdb-copy');
    expect(rep.options).toMatchObject({ size: 'tiny', runs: 1, cacheMode: 'warm' });
    expect(rep.dataset.size).toBe('tiny');
    expect(rep.dataset.docs).toBeGreaterThan(0);
    expect(rep.dataset.dataMdbBytes).toBeGreaterThan(0);
    expect(rep.dataset.cached).toBe(false);
    expect(rep.dataset.generator.version).toEqual(expect.any(String));
    expect(rep.dataset.namedDbs.length).toBeGreaterThan(0);
    expect(rep.scenarios.map((s) => s.name)).toEqual(['lmdb-copy', 'naive-json-export']);

    for (const s of rep.scenarios) {
      expect(s.ok, s.error?.message).toBe(true);
      expect(s.isBaseline).toBe(s.name === 'lmdb-copy');
      expect(s.runs).toHaveLength(1);
      const run = s.runs[0] as Run;
      expect(run).toMatchObject({ run: 1, ok: true, worker: 'node', peakRssMethod: 'getrusage' });
      expect(run.wallMs).toBeGreaterThan(0);
      expect(run.processWallMs).toBeGreaterThanOrEqual(run.wallMs);
      expect(run.outputBytes).toBeGreaterThan(0);
      expect(run.peakRssBytes).toBeGreaterThan(0);
      expect(s.summary).not.toBeNull();
      expect(s.summary?.okRuns).toBe(1);
      expect(s.summary?.wallMs.median).toBe(run.wallMs);
      expect(s.summary?.throughputMBps).toBeGreaterThan(0);
      expect(s.summary?.ratioToBaseline).toEqual(expect.any(Number));
    }
    const [copy, exp] = rep.scenarios;
    expect(copy?.summary?.ratioToBaseline).toBe(1);
    // A raw copy holds every page in use: at most data.mdb, and more than half of it.
    expect(copy?.runs[0]?.outputBytes).toBeLessThanOrEqual(rep.dataset.dataMdbBytes);
    expect(copy?.runs[0]?.outputBytes).toBeGreaterThan(rep.dataset.dataMdbBytes / 2);
    // The export wrote one line per entry of every named database (md_entries).
    const entries = rep.dataset.namedDbs.reduce((n, db) => n + db.entries, 0);
    expect(exp?.runs[0]?.extra.entries).toBe(entries);
    expect(exp?.runs[0]?.extra.databases).toBe(rep.dataset.namedDbs.length);

    // Cache on disk, scratch space cleaned up.
    expect(existsSync(join(dataDir, 'tiny-seed1', 'dataset.json'))).toBe(true);
    expect(existsSync(join(dataDir, 'tiny-seed1', 'env', 'data.mdb'))).toBe(true);
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);

    // A second invocation reuses the cached dataset.
    const json2 = join(work, 'out2.json');
    const r2 = bench(['lmdb-copy', '--size', 'tiny', '--runs', '1', '--json', json2, '--data-dir', dataDir]);
    expect(r2.status, r2.stderr).toBe(0);
    const rep2 = JSON.parse(readFileSync(json2, 'utf8')) as Report;
    expect(rep2.dataset.cached).toBe(true);
    expect(rep2.dataset.dataMdbBytes).toBe(rep.dataset.dataMdbBytes);
  });

  it('fails a scenario whose peer is missing with PAGEVAULT_ERR_BENCH_PEER_MISSING and still runs the rest', () => {
    const json = join(work, 'peer.json');
    const dataDir = join(work, 'data');
    const env = { ...process.env, PATH: join(work, 'no-such-bin') };
    const r = bench(['lmdb-copy', 'restic', '--size', 'tiny', '--runs', '1', '--json', json, '--data-dir', dataDir], env);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.includes('PAGEVAULT_ERR_BENCH_PEER_MISSING'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/restic.*bench\/setup\.sh/);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
    const restic = rep.scenarios.find((s) => s.name === 'restic');
    expect(restic?.ok).toBe(false);
    expect(restic?.error?.code).toBe('PAGEVAULT_ERR_BENCH_PEER_MISSING');
    expect(restic?.runs).toEqual([]);
    expect(rep.scenarios.find((s) => s.name === 'lmdb-copy')?.ok).toBe(true);
  });

  it('rejects an unknown scenario with exit status 2', () => {
    const r = bench(['no-such-scenario', '--data-dir', join(work, 'data')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown scenario "no-such-scenario"/);
  });
});
