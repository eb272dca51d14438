// The native seam itself: package-root discovery, load failures collected into one NativeLoadError, and the
// conversion of native error objects into PagevaultErrors.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  AbortedError,
  CorruptEnvError,
  ErrorCodes,
  IncrementalUnavailableError,
  IoError,
  NativeLoadError,
  NotFoundError,
  NotLmdbError,
  UnsupportedFormatError,
} from '../../src/errors.js';
import { findPackageRoot, loadBinding, loadBindingFrom, toPagevaultError } from '../../src/native/binding.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();
const here = dirname(fileURLToPath(import.meta.url));

describe('loading the addon', () => {
  it('finds the package root from sources and refuses directories outside it', () => {
    const root = findPackageRoot(here);
    expect(root).toBe(join(here, '..', '..'));
    expect(() => findPackageRoot(tmpdir())).toThrow(NativeLoadError);
  });

  it('loads once, with the documented exports', () => {
    const binding = loadBinding();
    expect(loadBinding()).toBe(binding);
    expect(typeof binding.envInfo).toBe('function');
    expect(typeof binding.readMetaPages).toBe('function');
    expect(typeof binding.openSnapshot).toBe('function');
    expect(Object.isFrozen(binding.formats)).toBe(true);
    expect(binding.formats.map((f) => [f.dataVersion, f.pageHeaderSize, f.pageBase])).toEqual([
      [1, 16, 0],
      [2, 24, 24],
    ]);
  });

  it('lists every candidate and its failure in one NativeLoadError', () => {
    const empty = join(ctx.dir, 'empty-root');
    mkdirSync(empty);
    const missing = (() => {
      try {
        loadBindingFrom(empty);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(missing).toBeInstanceOf(NativeLoadError);
    expect((missing as NativeLoadError).code).toBe(ErrorCodes.NATIVE_LOAD);
    expect((missing as Error).message).toContain(join(empty, 'build/Release/pagevault_native.node: not built'));
    expect((missing as Error).message).toContain(join(empty, 'build/Debug/pagevault_native.node: not built'));

    const broken = join(ctx.dir, 'broken-root');
    mkdirSync(join(broken, 'build', 'Release'), { recursive: true });
    writeFileSync(join(broken, 'build', 'Release', 'pagevault_native.node'), 'not a shared object');
    expect(() => loadBindingFrom(broken)).toThrow(/build\/Release\/pagevault_native\.node: .*\n.*Debug.*not built/);
  });
});

describe('native error conversion', () => {
  function nativeError(code: string, extra: Record<string, unknown> = {}): Error {
    return Object.assign(new Error(`native ${code}`), { code, ...extra });
  }

  it('maps each code to its PagevaultError class, keeping the message and the call-site stack', () => {
    const callSite = new Error('call site');
    const cases: Array<[string, abstract new (...args: never[]) => Error]> = [
      [ErrorCodes.NOT_FOUND, NotFoundError],
      [ErrorCodes.NOT_LMDB, NotLmdbError],
      [ErrorCodes.UNSUPPORTED_FORMAT, UnsupportedFormatError],
      [ErrorCodes.CORRUPT_ENV, CorruptEnvError],
      [ErrorCodes.IO, IoError],
      [ErrorCodes.INCREMENTAL_UNAVAILABLE, IncrementalUnavailableError],
      [ErrorCodes.ABORTED, AbortedError],
    ];
    for (const [code, type] of cases) {
      const converted = toPagevaultError(nativeError(code), callSite) as Error & { code: string };
      expect(converted).toBeInstanceOf(type);
      expect(converted.code).toBe(code);
      expect(converted.message).toBe(`native ${code}`);
      expect(converted.stack?.split('\n')[0]).toBe(`${converted.name}: native ${code}`);
      expect(converted.stack?.split('\n').slice(1)).toEqual(callSite.stack?.split('\n').slice(1));
      expect('cause' in converted).toBe(false);
    }
  });

  it('keeps system error details as a Node-style cause', () => {
    const converted = toPagevaultError(
      nativeError(ErrorCodes.IO, { errno: -13, errnoCode: 'EACCES', syscall: 'open', path: '/x' }),
      new Error(),
    ) as IoError;
    expect(converted.cause).toMatchObject({ errno: -13, code: 'EACCES', syscall: 'open', path: '/x' });
  });

  it('passes through anything it does not recognise', () => {
    const plain = new TypeError('bad');
    expect(toPagevaultError(plain, new Error())).toBe(plain);
    const other = nativeError('SOMETHING_ELSE');
    expect(toPagevaultError(other, new Error())).toBe(other);
    expect(toPagevaultError('text', new Error())).toBe('text');
  });
});
