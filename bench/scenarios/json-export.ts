/**
 * json-export: `pagevault export` of the dataset: the document database as JSON lines
 * (index definitions, identities, every document, tombstones) to one uncompressed file,
 * fsynced: the same output shape as the naive-json-export peer, without index data (a
 * JSON backup carries definitions and rebuilds indexes on restore). The documents come
 * from the native export cursor (msgpack → JSON in C++).
 * json-backup: the same export as a full JSON backup (zstd 3 + AES-256-GCM, local folder),
 * to compare its size and time with snapshot-full.
 */
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { LoadedKey } from '../../src/index.js';
import { backupJson, exportJson } from '../../src/index.js';
import { fsyncPath } from '../fs-util.js';
import type { Scenario } from '../scenario.js';
import { benchKey } from './snapshot-common.js';

/** scenario: json-export. */
export const scenario: Scenario = {
  name: 'json-export',
  description: 'pagevault export: native msgpack→JSON cursor → NDJSON file (documents, index definitions, identities), + fsync',
  async run(ctx) {
    const file = path.join(ctx.outDir, 'export.ndjson');
    const stats = await exportJson({ db: ctx.envDir, out: createWriteStream(file) });
    await fsyncPath(file);
    return { outputPath: file, extra: { docs: stats.docs, records: stats.records, fallbacks: stats.fallbacks, jsonBytes: stats.bytes, docsPerSecond: Math.round(stats.docs / stats.seconds) } };
  },
};

/** backup: json-backup (zstd 3 + AES-256-GCM). */
export const backup: Scenario<{ key: LoadedKey }> = {
  name: 'json-backup',
  description: 'pagevault full JSON backup, zstd 3 + AES-256-GCM, local folder',
  async prepare() {
    return { key: await benchKey() };
  },
  async run(ctx, { key }) {
    const r = await backupJson({ db: ctx.envDir, destination: ctx.outDir, name: 'bench', key });
    return { outputBytes: r.bytesWritten, extra: { docs: r.docs, jsonBytes: r.plaintextBytes, fallbacks: r.fallbacks } };
  },
};
