/**
 * binding: the one seam between TypeScript and the compiled addon `pagevault_native.node` (STYLE.md habit 1).
 *
 * Only this module loads the binary and declares its shape; everything else calls the typed wrappers below. The
 * addon links no LMDB and never opens `lock.mdb` (LMDB-INTERNALS.md §0): it reads `data.mdb` with pread on the
 * libuv thread pool.
 *
 * Loading is lazy (first use) and cached for the life of the process. The package root is found by walking up from
 * this file to the `package.json` named "pagevault" (this file runs as `src/native/binding.ts` under vitest and as
 * `dist/src/native/binding.js` when built), then `build/Release` and `build/Debug` are tried in that order. If none
 * loads, one NativeLoadError lists every path tried and why it failed.
 *
 * Native failures arrive as plain Errors with a `code` (PAGEVAULT_ERR_*) and, for system errors, `errno`,
 * `errnoCode`, `syscall` and `path`; the wrappers turn them into the matching PagevaultError subclass with the
 * stack of the caller (habit 3), and keep the system error as `cause`.
 *
 * @internal
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CorruptEnvError,
  ErrorCodes,
  IoError,
  NativeLoadError,
  NotFoundError,
  NotLmdbError,
  PagevaultError,
  UnsupportedFormatError,
} from '../errors.js';

/** RawDbRecord: an MDB_db record as the addon reports it; every count is an exact integer below 2^53. */
export interface RawDbRecord {
  flags: number;
  depth: number;
  entries: number;
  /** null when the tree is empty (LMDB's P_INVALID). */
  rootPage: number | null;
  branchPages: number;
  leafPages: number;
  overflowPages: number;
}

/** RawNamedDatabase: one named database found in the main tree. */
export interface RawNamedDatabase extends RawDbRecord {
  name: string;
}

/** RawEnvInfo: what the addon's `envInfo` resolves with (built in native/env_info_worker.cc). */
export interface RawEnvInfo {
  dataPath: string;
  fileSize: number;
  dataVersion: number;
  pageHeaderSize: number;
  formatDescription: string;
  pageSize: number;
  mapSize: number;
  lastPage: number;
  lastTxnId: number;
  metaSlot: number;
  envFlags: number;
  encrypted: boolean;
  mainDb: RawDbRecord;
  /** null for encrypted environments, whose tree pages are ciphertext. */
  namedDatabases: RawNamedDatabase[] | null;
}

/** NativeFormat: one on-disk layout the addon can read. */
export interface NativeFormat {
  readonly dataVersion: number;
  readonly pageHeaderSize: number;
  readonly pageBase: number;
  readonly maxPageSize: number;
  readonly description: string;
}

/** NativeBinding: the exports of `pagevault_native.node`, exactly as the addon defines them in native/addon.cc. */
export interface NativeBinding {
  /**
   * envInfo: reads the meta pages and main tree of the data file at `path` (an env directory or a data file) on
   * the libuv pool. Throws a TypeError synchronously for a non-string, empty or NUL-containing path; otherwise the
   * promise settles once, rejecting with a native error object (see toPagevaultError).
   */
  envInfo(path: string): Promise<RawEnvInfo>;
  /** formats: the layouts the reader understands, in data version order. Frozen. */
  readonly formats: readonly NativeFormat[];
}

const ADDON_FILE = 'pagevault_native.node';
const BUILD_DIRS = ['build/Release', 'build/Debug'];

let cachedBinding: NativeBinding | undefined;

/**
 * findPackageRoot: the nearest directory at or above `startDir` whose package.json is named "pagevault".
 * Synchronous file reads (a few small files, once per process). Throws NativeLoadError when there is none.
 */
export function findPackageRoot(startDir: string): string {
  for (let dir = startDir; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (parsed.name === 'pagevault') return dir;
      } catch {
        // An unreadable or invalid package.json above us is not ours; keep walking up.
      }
    }
    if (dirname(dir) === dir) {
      throw new NativeLoadError(`cannot find the pagevault package root above ${startDir}`);
    }
  }
}

function isNativeBinding(value: unknown): value is NativeBinding {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.envInfo === 'function' && Array.isArray(candidate.formats);
}

/**
 * loadBindingFrom: loads the addon from `root`/build/Release, else `root`/build/Debug, without caching. Throws one
 * NativeLoadError listing each candidate and why it failed (missing, not loadable, wrong exports).
 */
export function loadBindingFrom(root: string): NativeBinding {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const dir of BUILD_DIRS) {
    const candidate = join(root, dir, ADDON_FILE);
    if (!existsSync(candidate)) {
      failures.push(`${candidate}: not built`);
      continue;
    }
    try {
      const loaded: unknown = require(candidate);
      if (!isNativeBinding(loaded)) {
        failures.push(`${candidate}: loaded, but it does not export envInfo and formats (stale build?)`);
        continue;
      }
      return loaded;
    } catch (err) {
      failures.push(`${candidate}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new NativeLoadError(
    `cannot load the pagevault native addon; run \`npm run build:native\`. Tried:\n  ${failures.join('\n  ')}`,
  );
}

/**
 * loadBinding: the addon of this package (root found by findPackageRoot), loaded on first call and cached for the
 * process. Throws NativeLoadError when it cannot be loaded; a later call tries again.
 */
export function loadBinding(): NativeBinding {
  cachedBinding ??= loadBindingFrom(findPackageRoot(dirname(fileURLToPath(import.meta.url))));
  return cachedBinding;
}

/** NativeErrorShape: the fields native/errors.cc puts on the Errors it builds. */
interface NativeErrorShape {
  message: string;
  code?: unknown;
  errno?: unknown;
  errnoCode?: unknown;
  syscall?: unknown;
  path?: unknown;
}

function systemErrorOf(native: NativeErrorShape): NodeJS.ErrnoException | undefined {
  if (typeof native.errno !== 'number') return undefined;
  const cause: NodeJS.ErrnoException = new Error(native.message);
  cause.errno = native.errno;
  if (typeof native.errnoCode === 'string') cause.code = native.errnoCode;
  if (typeof native.syscall === 'string') cause.syscall = native.syscall;
  if (typeof native.path === 'string') cause.path = native.path;
  return cause;
}

function causeOf(native: NativeErrorShape): { cause: unknown } | undefined {
  const cause = systemErrorOf(native);
  return cause === undefined ? undefined : { cause };
}

/**
 * toPagevaultError: converts a native error into the PagevaultError subclass its `code` names, keeping the message
 * and replacing the stack frames with those of `callSite` (an Error created where the caller entered the seam, so
 * the stack points at user code, not at the libuv callback). Anything else is returned unchanged.
 */
export function toPagevaultError(native: unknown, callSite: Error): unknown {
  if (!(native instanceof Error)) return native;
  const shape = native as NativeErrorShape;
  let converted: PagevaultError;
  switch (shape.code) {
    case ErrorCodes.NOT_FOUND:
      converted = new NotFoundError(shape.message, causeOf(shape));
      break;
    case ErrorCodes.NOT_LMDB:
      converted = new NotLmdbError(shape.message);
      break;
    case ErrorCodes.UNSUPPORTED_FORMAT:
      converted = new UnsupportedFormatError(shape.message);
      break;
    case ErrorCodes.CORRUPT_ENV:
      converted = new CorruptEnvError(shape.message);
      break;
    case ErrorCodes.IO:
      converted = new IoError(shape.message, causeOf(shape));
      break;
    default:
      return native;
  }
  const frames = (callSite.stack ?? '').split('\n').slice(1).join('\n');
  converted.stack = `${converted.name}: ${converted.message}${frames ? `\n${frames}` : ''}`;
  return converted;
}

/**
 * nativeEnvInfo: the addon's envInfo with errors converted by toPagevaultError. Loads the addon on first use
 * (NativeLoadError if that fails). `path` must already be validated (a non-empty string without NUL).
 */
export function nativeEnvInfo(path: string): Promise<RawEnvInfo> {
  // Captured before any await so that its frames are the caller's.
  const callSite = new Error();
  let pending: Promise<RawEnvInfo>;
  try {
    pending = loadBinding().envInfo(path);
  } catch (err) {
    return Promise.reject(toPagevaultError(err, callSite));
  }
  return pending.catch((err: unknown) => {
    throw toPagevaultError(err, callSite);
  });
}
