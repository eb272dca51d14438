/**
 * verify: check a chain (snapshot or JSON) without restoring it (`pagevault verify CHAIN`): every
 * file listed in the manifest exists, has the recorded size and whole-file hash, belongs
 * to the chain at its position, and every chunk passes its checksum or authentication tag
 * and the trailer is intact. `deep` also restores the whole chain into a temporary folder
 * and reads every entry of every database in it with lmdb-js, comparing the entry counts
 * with those recorded in the B-tree records.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { open } from 'lmdb';
import { ensureChainMatches } from '../backup/manifest.js';
import { BackupCorruptError, ChainBrokenError, CorruptEnvError } from '../errors.js';
import { createBackupReader } from '../format/index.js';
import type { LoadedKey } from '../keys/index.js';
import { isNotFound } from '../sinks/sink.js';
import { envInfo } from '../snapshot/index.js';
import { restoreJson } from './json-restore.js';
import { openChain, restoreSnapshot, type ChainLocation } from './snapshot-restore.js';
import { getObject } from '../sinks/parallel-get.js';

/** VerifyOptions: see `pagevault verify --help`. */
export interface VerifyOptions {
  from: ChainLocation;
  key?: LoadedKey;
  deep?: boolean;
  /** Where a deep verify restores to; default the system temp folder. */
  workDir?: string;
  onProgress?: (p: { file: string; fileIndex: number; files: number }) => void;
  signal?: AbortSignal;
}

/** VerifyResult: what was checked. Verification failures throw; a returned result means all passed. */
export interface VerifyResult {
  chain: string;
  files: Array<{ name: string; kind: string; txnId: number; bytes: number; chunks: number; sha256: string }>;
  deep?: { txnId: number; databases: number; entries: number };
}

/** verifyChain: see the module comment. Throws the first failure found, with its stable code. */
export async function verifyChain(options: VerifyOptions): Promise<VerifyResult> {
  const { sink, folder, manifest, ownSink } = await openChain(options.from);
  const files: VerifyResult['files'] = [];
  try {
    for (const [i, file] of manifest.files.entries()) {
      options.onProgress?.({ file: file.name, fileIndex: i, files: manifest.files.length });
      let input;
      try {
        input = await getObject(sink, `${folder}/${file.name}`, file.size, { signal: options.signal });
      } catch (err) {
        if (isNotFound(err)) throw new ChainBrokenError(`chain file ${file.name} is missing from ${sink.name}/${folder}`);
        throw err;
      }
      const reader = createBackupReader({ key: options.key });
      await pipeline(input, reader, new Writable({ write: (_c, _e, cb) => cb() }), { signal: options.signal });
      const summary = await reader.done;
      ensureChainMatches(manifest, file, summary.header, `${folder}/${file.name}`);
      if (summary.sha256 !== file.sha256 || summary.bytes !== file.size) {
        throw new BackupCorruptError(`chain file ${file.name} does not match the size and hash recorded in the manifest`);
      }
      files.push({ name: file.name, kind: file.kind, txnId: file.txnId, bytes: summary.bytes, chunks: summary.chunks, sha256: summary.sha256 });
    }
    const result: VerifyResult = { chain: folder, files };
    if (options.deep) result.deep = manifest.type === 'backup' ? await deepCheckJson(options) : await deepCheck(options);
    return result;
  } finally {
    if (ownSink) await sink.close();
  }
}

async function deepCheck(options: VerifyOptions): Promise<{ txnId: number; databases: number; entries: number }> {
  const work = await mkdtemp(join(options.workDir ?? tmpdir(), 'pagevault-verify-'));
  try {
    const to = join(work, 'env');
    const restored = await restoreSnapshot({ from: options.from, to, key: options.key, signal: options.signal });
    const info = await envInfo(to);
    if (info.lastTxnId !== restored.txnId) throw new CorruptEnvError(`restored environment is at txn ${info.lastTxnId}, expected ${restored.txnId}`);
    const env = open({ path: to, readOnly: true, noSubdir: false, maxDbs: (info.namedDatabaseCount ?? 0) + 1 });
    let entries = 0;
    try {
      for (const d of info.namedDatabases ?? []) {
        const db = env.openDB(d.name, { keyEncoding: 'binary', encoding: 'binary', dupSort: (d.flags & 0x04) !== 0 });
        // getRange yields every entry, each value of a dupSort key included, as md_entries counts them.
        let n = 0;
        for (const _ of db.getRange({ start: Buffer.alloc(0) } as never)) n++;
        if (n !== d.entries) throw new CorruptEnvError(`database ${d.name}: read ${n} entries, its record says ${d.entries}`);
        entries += n;
      }
    } finally {
      await env.close();
    }
    return { txnId: restored.txnId, databases: info.namedDatabaseCount ?? 0, entries };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** deepCheckJson: a JSON chain restored into a temporary folder (every record parsed and written, indexes rebuilt). */
async function deepCheckJson(options: VerifyOptions): Promise<{ txnId: number; databases: number; entries: number }> {
  const work = await mkdtemp(join(options.workDir ?? tmpdir(), 'pagevault-verify-'));
  try {
    const restored = await restoreJson({ from: options.from, to: join(work, 'env'), key: options.key, signal: options.signal });
    return { txnId: restored.txnId, databases: restored.kind === 'docdb' ? 1 : 0, entries: restored.docs + restored.entries + restored.indexEntries };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
