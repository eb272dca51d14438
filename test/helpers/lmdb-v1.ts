/**
 * lmdb-v1: an lmdb-js built for LMDB data format 1 (`LMDB_DATA_V1=true`, the legacy 0.9
 * format whose pages carry no transaction id), to create and pin real format-1
 * environments. npm installs only the format-2 build, so this copies the installed lmdb
 * package under `.cache/lmdb-v1/` (inside the project, so its own imports resolve from our
 * node_modules) and compiles it there with node-gyp once (about 10 s on two cores); later
 * runs reuse it. Both builds can be loaded in one process: each links its own LMDB, and the
 * tests never open one environment with both.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const DIR = join(ROOT, '.cache', 'lmdb-v1', 'lmdb');
const MARKER = join(DIR, 'build', 'pagevault-v1-build.json');

/** lmdbV1: the format-1 lmdb-js module (built on first use). */
export async function lmdbV1(): Promise<typeof import('lmdb')> {
  const source = join(ROOT, 'node_modules', 'lmdb');
  const version = (JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { version: string }).version;
  const built = existsSync(MARKER) && (JSON.parse(readFileSync(MARKER, 'utf8')) as { version: string }).version === version;
  if (!built) {
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(join(ROOT, '.cache', 'lmdb-v1'), { recursive: true });
    cpSync(source, DIR, { recursive: true, filter: (p) => !p.startsWith(join(source, 'build')) });
    // npx passes npm's configuration (e.g. nodedir for offline headers) to node-gyp.
    const r = spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild', '-j', '2'], { cwd: DIR, env: { ...process.env, LMDB_DATA_V1: 'true' }, encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`building lmdb-js for data format 1 failed:\n${r.stdout}\n${r.stderr}`);
    writeFileSync(MARKER, JSON.stringify({ version }));
  }
  // Its CommonJS build, loaded by Node's own require: vitest would transform an ES module inside the project.
  const mod = createRequire(__filename)(join(DIR, 'dist', 'index.cjs')) as typeof import('lmdb');
  const v = (mod as unknown as { version: { major: number; minor: number } }).version;
  if (v.major !== 0 || v.minor !== 9) throw new Error(`expected the LMDB 0.9 (data format 1) build, got ${JSON.stringify(v)}`);
  return mod;
}
