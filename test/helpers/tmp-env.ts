/**
 * tmp-env: fresh, real LMDB environments for tests (STYLE.md habit 13).
 *
 * `useTmpEnv()` registers vitest hooks in the calling file or describe block: one per-run directory under
 * `os.tmpdir()` (created before the first test, removed after the last), and inside it a fresh directory per test
 * (`ctx.dir`). Environments opened with `ctx.open()` are closed after each test, before its directory is removed,
 * so no test sees another's files or handles.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { open, type RootDatabase, type RootDatabaseOptions } from 'lmdb';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/** TmpEnvContext: per-test access to the current test's directory and lmdb-js environments. */
export interface TmpEnvContext {
  /** The current test's fresh, empty directory. Valid only while a test runs. */
  readonly dir: string;
  /**
   * open: opens an lmdb-js environment at `path` (default: `<dir>/env`, a directory env), which is closed after
   * the test. Relative paths are taken inside `dir`.
   */
  open(options?: RootDatabaseOptions & { path?: string }): RootDatabase;
}

/**
 * useTmpEnv: call once at the top of a test file (or describe block); returns the context whose `dir` changes per
 * test. Cleanup runs even when a test fails.
 */
export function useTmpEnv(prefix = 'pagevault-test-'): TmpEnvContext {
  let runDir: string | undefined;
  let testDir: string | undefined;
  let counter = 0;
  let opened: RootDatabase[] = [];

  beforeAll(() => {
    runDir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
    runDir = undefined;
  });
  beforeEach(() => {
    if (runDir === undefined) throw new Error('useTmpEnv: per-run directory missing');
    counter += 1;
    testDir = join(runDir, `t${counter}`);
    mkdirSync(testDir);
  });
  afterEach(async () => {
    const closing = opened;
    opened = [];
    for (const db of closing) {
      // A test may have closed its env already (to copy or damage files); lmdb-js marks that in `status`.
      if ((db as { status?: string }).status !== 'closed') await db.close();
    }
    if (testDir !== undefined) rmSync(testDir, { recursive: true, force: true });
    testDir = undefined;
  });

  return {
    get dir(): string {
      if (testDir === undefined) throw new Error('useTmpEnv: ctx.dir is only available inside a test');
      return testDir;
    },
    open(options = {}): RootDatabase {
      if (testDir === undefined) throw new Error('useTmpEnv: ctx.open is only available inside a test');
      const path = resolve(testDir, options.path ?? 'env');
      const db = open({ ...options, path });
      opened.push(db);
      return db;
    },
  };
}
