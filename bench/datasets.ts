/**
 * datasets: benchmark datasets — the size table, generation through the project's CLI,
 * and the on-disk cache.
 *
 * Cache layout, under the data directory (`--data-dir`, else `$PAGEVAULT_BENCH_DIR`,
 * else `./.bench-data`, which is gitignored):
 *
 *   <size>-seed<seed>/
 *     env/data.mdb, env/lock.mdb   the lmdb-js environment (directory form)
 *     dataset.json                 DatasetInfo below; written last, so a directory
 *                                  without it is an interrupted generation
 *   tmp/                           per-run output directories (same filesystem)
 *
 * The cache key is size + seed (the directory) + the generator version (checked against
 * dataset.json): a stale or incomplete dataset is deleted and generated again. One
 * directory per size and seed means a generator change replaces, not accumulates, data.
 *
 * The env directory is named `env` on purpose: lmdb-js treats a path with an extension
 * (`foo.db`) as a single-file environment (`noSubdir`), which changes how `backup()`
 * names its target.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { processAlive } from '../src/util/process.js';
import { freeBytes, removeTree } from './fs-util.js';
import { openReadOnlyEnv, type NamedDbInfo } from './named-dbs.js';

/** REPO_ROOT: the package root (dist/bench/ → ../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** SizeName: the `--size` values (`tiny` is hidden: for tests). */
export type SizeName = 'tiny' | 'small' | 'medium' | 'large' | 'xl';

/** SizeSpec: one row of the size table. */
export interface SizeSpec {
  /** Documents to generate; `null` = computed from free disk space (xl). */
  docs: number | null;
  /** Target size, for --help. */
  label: string;
  /** Default --runs. */
  runs: number;
  /** Not listed in --help. */
  hidden?: boolean;
}

/**
 * BYTES_PER_DOC: data.mdb bytes per generated document, calibrated by generating `small`
 * with the real CLI (`pagevault generate --docs 175000 --seed 1`, default profile,
 * generator pagevault-gen/1): 196,894,720 bytes = 1,125 B/doc. Used for the doc counts
 * below, for xl and for the free-space check. Re-calibrate when the generator's output
 * changes shape; the runner prints each dataset's real size and dataset.json records its
 * B/doc.
 */
export const BYTES_PER_DOC = 1125;

/**
 * SIZES: the one mapping from size names to document counts (calibrated with
 * BYTES_PER_DOC; the runner prints the real data.mdb size of each dataset).
 */
export const SIZES: Readonly<Record<SizeName, SizeSpec>> = {
  tiny: { docs: 2_000, label: '~2.5 MB', runs: 3, hidden: true },
  small: { docs: 175_000, label: '~200 MB', runs: 3 },
  medium: { docs: 1_750_000, label: '~2 GB', runs: 3 },
  large: { docs: 8_750_000, label: '~10 GB', runs: 2 },
  xl: { docs: null, label: 'as large as free disk allows', runs: 1 },
};

/**
 * XL_FOOTPRINT: how many dataset-sized copies a run may hold on disk at once: the
 * dataset, restic's staging copy, and one run's output (restic-restore holds a repo
 * and a restored copy). XL_MARGIN_BYTES stays free on top of that.
 */
const XL_FOOTPRINT = 4;
const XL_MARGIN_BYTES = 10 * 2 ** 30;

/** DATASET_FORMAT: version of dataset.json itself. */
const DATASET_FORMAT = 1;

/** GeneratorInfo: how datasets are made and the version string that keys the cache. */
export interface GeneratorInfo {
  kind: 'cli';
  /** argv prefix; `--db DIR --docs N --seed S` is appended. */
  argv: string[];
  version: string;
}

/** DatasetInfo: contents of dataset.json plus where the dataset is. */
export interface DatasetInfo {
  format: number;
  size: SizeName;
  seed: number;
  docs: number;
  generator: GeneratorInfo;
  /** File size of data.mdb (what a file-level backup reads). */
  dataMdbBytes: number;
  /** Pages in use × page size (what mdb_env_copy reads). */
  usedBytes: number;
  pageSize: number;
  bytesPerDoc: number;
  namedDbs: NamedDbInfo[];
  rootPlainEntries: number;
  generatedAt: string;
  generationMs: number;
  /** Absolute dataset directory (not stored; filled in on load). */
  dir: string;
  /** Absolute env directory (not stored). */
  envDir: string;
  /** True when this invocation reused the cache (not stored). */
  cached: boolean;
}

/** resolveDataDir: `--data-dir`, else $PAGEVAULT_BENCH_DIR, else ./.bench-data. */
export function resolveDataDir(flag: string | undefined): string {
  return path.resolve(flag ?? process.env.PAGEVAULT_BENCH_DIR ?? '.bench-data');
}

function hashTree(h: ReturnType<typeof createHash>, dir: string, rel: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) hashTree(h, p, `${rel}/${name}`);
    else if (name.endsWith('.js')) {
      h.update(`${rel}/${name}\0`);
      h.update(readFileSync(p));
    }
  }
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/**
 * generatorInfo: the project's CLI, `node bin/pagevault.js generate`. Its version string is
 * `<GENERATOR_VERSION>+<hash>`: the generator's own declared version
 * (src/generate/generate.ts) plus a hash over the compiled generator and document
 * database (dist/src/generate, dist/src/docdb, dist/src/cli/commands/generate*) and the
 * lmdb package version, so any change to what writes the data invalidates the cache,
 * even one that forgot to bump GENERATOR_VERSION.
 */
export async function generatorInfo(): Promise<GeneratorInfo> {
  const lmdbPkg = readJson(path.join(REPO_ROOT, 'node_modules', 'lmdb', 'package.json'));
  const h = createHash('sha256');
  h.update(`lmdb@${String(lmdbPkg.version)}\0`);
  const dist = path.join(REPO_ROOT, 'dist', 'src');
  hashTree(h, path.join(dist, 'generate'), 'generate');
  hashTree(h, path.join(dist, 'docdb'), 'docdb');
  const commands = path.join(dist, 'cli', 'commands');
  if (existsSync(commands)) {
    for (const name of readdirSync(commands).sort()) {
      if (name.startsWith('generate') && name.endsWith('.js')) {
        h.update(`cli/commands/${name}\0`);
        h.update(readFileSync(path.join(commands, name)));
      }
    }
  }
  let declared = 'pagevault-gen/unknown';
  const generateJs = path.join(dist, 'generate', 'generate.js');
  if (existsSync(generateJs)) {
    try {
      const mod = (await import(pathToFileURL(generateJs).href)) as { GENERATOR_VERSION?: unknown };
      if (typeof mod.GENERATOR_VERSION === 'string') declared = mod.GENERATOR_VERSION;
    } catch {
      // A broken build shows up when the CLI runs; the hash still keys the cache.
    }
  }
  return {
    kind: 'cli',
    argv: [process.execPath, path.join(REPO_ROOT, 'bin', 'pagevault.js'), 'generate'],
    version: `${declared}+${h.digest('hex').slice(0, 12)}`,
  };
}

/** DatasetUnavailableError: the dataset can't be made (no generator, no disk space). */
export class DatasetUnavailableError extends Error {}

/** checkGenerator: throws a one-line DatasetUnavailableError when the CLI is not built. */
export function checkGenerator(): void {
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new DatasetUnavailableError(
      'the dataset generator is not built: dist/src/cli/main.js is missing; run `npm run build:ts` ' +
        '(`pagevault generate` comes from src/cli)',
    );
  }
}

/** datasetDir: where size + seed live under the data directory. */
export function datasetDir(dataDir: string, size: SizeName, seed: number): string {
  return path.join(dataDir, `${size}-seed${seed}`);
}

/** loadDatasetJson: the parsed dataset.json of `dir`, or null when missing or unreadable. */
function loadDatasetJson(dir: string): Omit<DatasetInfo, 'dir' | 'envDir' | 'cached'> | null {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'dataset.json'), 'utf8')) as Omit<DatasetInfo, 'dir' | 'envDir' | 'cached'>;
  } catch {
    return null;
  }
}

/** staleReason: why a cached dataset can't be used, or null when it can. */
function staleReason(
  stored: Omit<DatasetInfo, 'dir' | 'envDir' | 'cached'> | null,
  dir: string,
  want: { size: SizeName; seed: number; docs: number | null; generator: GeneratorInfo },
): string | null {
  if (!stored) return existsSync(dir) ? 'no dataset.json (interrupted generation?)' : 'not generated yet';
  if (stored.format !== DATASET_FORMAT) return `dataset.json format ${stored.format} ≠ ${DATASET_FORMAT}`;
  if (stored.generator?.version !== want.generator.version) {
    return `generator changed (${stored.generator?.version} → ${want.generator.version})`;
  }
  if (stored.seed !== want.seed || stored.size !== want.size) return 'size/seed mismatch';
  if (want.docs !== null && stored.docs !== want.docs) return `doc count changed (${stored.docs} → ${want.docs})`;
  let bytes = -1;
  try {
    bytes = statSync(path.join(dir, 'env', 'data.mdb')).size;
  } catch {
    return 'env/data.mdb missing';
  }
  if (bytes !== stored.dataMdbBytes) return `data.mdb changed size (${stored.dataMdbBytes} → ${bytes}); was it written to?`;
  return null;
}

/** xlDocs: the document count for xl given the free space (plus space a rebuild frees). */
export function xlDocs(free: number, total: number, reclaimable: number): number {
  const margin = Math.max(XL_MARGIN_BYTES, total * 0.05);
  const budget = free + reclaimable - margin;
  return Math.max(0, Math.floor(budget / XL_FOOTPRINT / BYTES_PER_DOC));
}

/** EnsureOptions: what dataset to get and where to log progress. */
export interface EnsureOptions {
  dataDir: string;
  size: SizeName;
  seed: number;
  generator: GeneratorInfo;
  log: (line: string) => void;
}

/**
 * ensureDataset: return the cached dataset for size + seed when it is current, else
 * (re)generate it with the generator, record dataset.json and return that. Generation
 * happens in `<dir>.partial-<pid>` and is renamed into place, so an interrupted run never
 * leaves a dataset that looks complete.
 */
export async function ensureDataset(opts: EnsureOptions): Promise<DatasetInfo> {
  const { dataDir, size, seed, generator, log } = opts;
  await fsp.mkdir(dataDir, { recursive: true });
  const dir = datasetDir(dataDir, size, seed);
  const stored = loadDatasetJson(dir);
  const spec = SIZES[size];
  const reason = staleReason(stored, dir, { size, seed, docs: spec.docs, generator });
  if (stored && reason === null) {
    return { ...stored, dir, envDir: path.join(dir, 'env'), cached: true };
  }
  checkGenerator();

  const { free, total } = freeBytes(dataDir);
  const reclaimable = stored?.dataMdbBytes ?? 0;
  const docs = spec.docs ?? xlDocs(free, total, reclaimable);
  const need = docs * BYTES_PER_DOC * 1.25;
  if (docs <= 0 || need > free + reclaimable) {
    throw new DatasetUnavailableError(
      `not enough free disk under ${dataDir} for --size ${size}: need ~${(need / 1e9).toFixed(1)} GB ` +
        `for ${docs.toLocaleString('en-US')} docs, ${(free / 1e9).toFixed(1)} GB free`,
    );
  }
  log(`dataset ${size}/seed ${seed}: ${reason}; generating ${docs.toLocaleString('en-US')} docs ` +
    `(~${((docs * BYTES_PER_DOC) / 1e6).toFixed(0)} MB) with pagevault generate …`);
  await removeTree(dir);
  // Partial generations of runners that died (SIGKILL, power loss) can be gigabytes.
  for (const name of readdirSync(dataDir)) {
    const m = new RegExp(`^${path.basename(dir)}\\.partial-(\\d+)$`).exec(name);
    if (m && !processAlive(Number(m[1]))) await removeTree(path.join(dataDir, name));
  }
  const partial = `${dir}.partial-${process.pid}`;
  await removeTree(partial);
  await fsp.mkdir(partial, { recursive: true });
  const envDir = path.join(partial, 'env');
  const t0 = performance.now();
  try {
    await runGenerator(generator, envDir, docs, seed);
  } catch (err) {
    await removeTree(partial);
    throw err;
  }
  const generationMs = performance.now() - t0;

  const dataMdbBytes = statSync(path.join(envDir, 'data.mdb')).size;
  const env = openReadOnlyEnv(envDir);
  let usedBytes: number;
  let pageSize: number;
  try {
    const stats = env.root.getStats() as { pageSize: number; lastPageNumber: number };
    pageSize = stats.pageSize;
    usedBytes = (stats.lastPageNumber + 1) * stats.pageSize;
  } finally {
    await env.close();
  }
  const info: Omit<DatasetInfo, 'dir' | 'envDir' | 'cached'> = {
    format: DATASET_FORMAT,
    size,
    seed,
    docs,
    generator,
    dataMdbBytes,
    usedBytes,
    pageSize,
    bytesPerDoc: Math.round(dataMdbBytes / docs),
    namedDbs: env.listing.dbs,
    rootPlainEntries: env.listing.rootPlainEntries,
    generatedAt: new Date().toISOString(),
    generationMs: Math.round(generationMs),
  };
  await fsp.writeFile(path.join(partial, 'dataset.json'), JSON.stringify(info, null, 2) + '\n');
  await fsp.rename(partial, dir);
  log(`dataset ${size}/seed ${seed}: generated in ${(generationMs / 1000).toFixed(1)} s, ` +
    `data.mdb ${(dataMdbBytes / 1e6).toFixed(1)} MB (${info.bytesPerDoc} B/doc)`);
  return { ...info, dir, envDir: path.join(dir, 'env'), cached: false };
}

/** runGenerator: run the generator to completion; its output goes to our stderr. */
async function runGenerator(gen: GeneratorInfo, envDir: string, docs: number, seed: number): Promise<void> {
  const [cmd, ...args] = gen.argv as [string, ...string[]];
  args.push('--db', envDir, '--docs', String(docs), '--seed', String(seed));
  const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 2, 2] });
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  if (code !== 0) {
    throw new DatasetUnavailableError(`dataset generation failed: \`${[cmd, ...args].join(' ')}\` exited with ${code}`);
  }
  if (!existsSync(path.join(envDir, 'data.mdb'))) {
    throw new DatasetUnavailableError(`dataset generation produced no ${path.join(envDir, 'data.mdb')}`);
  }
}
