// Pinned-format guard: pagevault reads data.mdb itself, so it must know exactly which layout the installed lmdb-js
// writes. If lmdb is upgraded (or rebuilt with use_data_v1), these tests fail loudly instead of letting the page
// reader misparse files.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadBinding } from '../../src/native/binding.js';
import {
  envInfo,
  SUPPORTED_DATA_VERSION,
  SUPPORTED_LMDB_JS,
  SUPPORTED_PAGE_HEADER_SIZE,
} from '../../src/snapshot/env-info.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();
const require = createRequire(import.meta.url);

function readManifest(dir: string): { name?: string; version?: string } {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
}

describe('pinned LMDB format', () => {
  it(`the installed lmdb package is exactly ${SUPPORTED_LMDB_JS}`, () => {
    // lmdb's exports map hides package.json, so walk up from its resolved entry point.
    let dir = dirname(require.resolve('lmdb'));
    while (!existsSync(join(dir, 'package.json')) || readManifest(dir).name !== 'lmdb') {
      expect(dirname(dir), 'cannot find the lmdb package.json').not.toBe(dir);
      dir = dirname(dir);
    }
    const manifest = readManifest(dir);
    expect(
      manifest.version,
      `node_modules/lmdb is ${manifest.version} but pagevault's page reader is pinned to lmdb-js ` +
        `${SUPPORTED_LMDB_JS}; re-verify the on-disk format (LMDB-INTERNALS.md §1.2) before changing ` +
        'SUPPORTED_LMDB_JS',
    ).toBe(SUPPORTED_LMDB_JS);
  });

  it('the addon knows the pinned layout', () => {
    const format = loadBinding().formats.find((f) => f.dataVersion === SUPPORTED_DATA_VERSION);
    expect(format, `addon has no layout for data version ${SUPPORTED_DATA_VERSION}`).toBeDefined();
    expect(format?.pageHeaderSize).toBe(SUPPORTED_PAGE_HEADER_SIZE);
  });

  const pinned = `data version ${SUPPORTED_DATA_VERSION} with ${SUPPORTED_PAGE_HEADER_SIZE}-byte page headers`;
  it(`new lmdb-js envs use ${pinned}`, async () => {
    const db = ctx.open();
    await db.put('pin', 'check');
    const dataPath = join(ctx.dir, 'env', 'data.mdb');

    // Independent of the addon: the meta magic sits right after the page header, then the version.
    const head = Buffer.alloc(64);
    const fd = openSync(dataPath, 'r');
    try {
      readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    const magicAt = [24, 16, 12].find((offset) => head.readUInt32LE(offset) === 0xbeefc0de);
    expect(
      magicAt,
      `installed lmdb wrote its meta magic at byte ${magicAt}, expected ${SUPPORTED_PAGE_HEADER_SIZE}`,
    ).toBe(SUPPORTED_PAGE_HEADER_SIZE);
    const version = head.readUInt32LE(SUPPORTED_PAGE_HEADER_SIZE + 4) & 0xffff;
    expect(version, 'installed lmdb writes another data version').toBe(SUPPORTED_DATA_VERSION);

    const info = await envInfo(join(ctx.dir, 'env'));
    expect(info.format).toEqual({
      dataVersion: SUPPORTED_DATA_VERSION,
      pageHeaderSize: SUPPORTED_PAGE_HEADER_SIZE,
      description: 'lmdb-js data v2',
    });
  });
});
