/**
 * chain-store: chains and their manifests on a Sink. A chain is a folder
 * (`naming.ts`) holding backup files and `manifest.json`; a folder without a readable
 * manifest is not a chain (an interrupted first backup leaves none).
 */
import { Readable } from 'node:stream';
import { ChainBrokenError } from '../errors.js';
import { isNotFound, type Sink } from '../sinks/sink.js';
import { parseManifest, serializeManifest, type ChainManifest } from './manifest.js';
import { MANIFEST_NAME, parseChainFolderName, type BackupType } from './naming.js';

/** ChainRef: a chain folder found on a sink. */
export interface ChainRef {
  folder: string;
  started: Date;
  database: string;
  type: BackupType;
}

/** listChains: chain folders of `database` (safe name) and `type` under `prefix`, oldest first. */
export async function listChains(sink: Sink, database: string, type: BackupType, prefix = ''): Promise<ChainRef[]> {
  return (await listAllChains(sink, prefix)).filter((c) => c.database === database && c.type === type);
}

/** listAllChains: every chain folder (any database, any type) under `prefix`, oldest first. */
export async function listAllChains(sink: Sink, prefix = ''): Promise<ChainRef[]> {
  const seen = new Map<string, ChainRef>();
  for await (const key of keysOf(sink, prefix)) {
    if (!key.endsWith(`/${MANIFEST_NAME}`)) continue;
    const folder = key.slice(0, -MANIFEST_NAME.length - 1);
    const name = folder.slice(folder.lastIndexOf('/') + 1);
    const parsed = parseChainFolderName(name);
    if (parsed) seen.set(folder, { folder, ...parsed });
  }
  return [...seen.values()].sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
}

/** keysOf: the keys under `prefix`, by `listKeys` where the sink has it (cheaper), else by `list`. */
async function* keysOf(sink: Sink, prefix: string): AsyncIterable<string> {
  if (sink.listKeys) {
    yield* sink.listKeys(prefix);
    return;
  }
  for await (const obj of sink.list(prefix)) yield obj.key;
}

/** readManifest: the manifest of the chain in `folder`; ChainBrokenError when it is missing. */
export async function readManifest(sink: Sink, folder: string): Promise<ChainManifest> {
  const key = `${folder}/${MANIFEST_NAME}`;
  let stream: Readable;
  try {
    stream = await sink.get(key);
  } catch (err) {
    if (isNotFound(err)) throw new ChainBrokenError(`no chain manifest at ${key} in ${sink.name}`);
    throw err;
  }
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return parseManifest(Buffer.concat(chunks).toString('utf8'), `${sink.name}/${key}`);
}

/** writeManifest: replace the chain's manifest (atomically where the sink supports it). */
export async function writeManifest(sink: Sink, folder: string, manifest: ChainManifest): Promise<void> {
  await sink.put(`${folder}/${MANIFEST_NAME}`, Readable.from([Buffer.from(serializeManifest(manifest))]), { overwrite: true });
}

/**
 * newestChain: the newest chain of `database` and `type` on `sink` whose manual flag is
 * `manual` (task and plain backups extend only non-manual chains; a one-time backup with
 * --incremental extends only manual ones), with its manifest; or why there is none.
 * Only the newest matching folder is read: an unreadable one is reported, not skipped, so
 * an incremental never silently extends an older chain.
 */
export async function newestChain(sink: Sink, database: string, type: BackupType, manual: boolean): Promise<{ folder: string; manifest: ChainManifest } | { fullReason: string }> {
  const chains = await listChains(sink, database, type);
  for (const chain of chains.reverse()) {
    let manifest: ChainManifest;
    try {
      manifest = await readManifest(sink, chain.folder);
    } catch (err) {
      return { fullReason: `the newest chain ${chain.folder} is unreadable (${(err as Error).message})` };
    }
    if ((manifest.manual ?? false) === manual) return { folder: chain.folder, manifest };
  }
  return { fullReason: manual ? 'no one-time chain exists yet' : 'no chain exists yet' };
}
