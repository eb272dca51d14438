/**
 * destinations: the set of sinks one backup writes to. A backup names one destination or
 * several (a path, a URL, or a Sink); the same file and manifest go to every one in one
 * pass (sinks/fanout.ts). The chain an incremental extends is chosen on the first
 * destination and must be the same, up to the same last file, on every other one:
 * otherwise (a destination added later, or one that missed a backup) the backup is a
 * full, and says why.
 */
import { InvalidArgumentError } from '../errors.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { enforcePolicy, putToAll, type DestinationStatus, type FanOutPolicy, type FanOutResult } from '../sinks/fanout.js';
import { LocalSink } from '../sinks/local.js';
import { openSink } from '../sinks/registry.js';
import type { Sink } from '../sinks/sink.js';
import { readManifest, writeManifest } from './chain-store.js';
import type { LoadedKey } from '../keys/index.js';
import { acquireBackupLock, type BackupLock } from './lock.js';
import { ByteCounter } from '../util/byte-counter.js';
import type { ChainManifest } from './manifest.js';

/** Destination: a folder path, a sink URL (file://, s3://, gs://, azure://, ftp://, ftps://, sftp://), or a Sink. */
export type Destination = string | Sink;

/** Destinations: the sinks of one backup, and which of them it opened (and so closes). */
export interface Destinations {
  sinks: Sink[];
  close(): Promise<void>;
}

/** openDestinations: sinks for `dest` (one or several). */
export async function openDestinations(dest: Destination | readonly Destination[]): Promise<Destinations> {
  const list = Array.isArray(dest) ? dest : [dest as Destination];
  if (list.length === 0) throw new InvalidArgumentError('Expected at least one destination');
  const owned: Sink[] = [];
  const sinks: Sink[] = [];
  try {
    for (const d of list) {
      if (typeof d === 'string') {
        const s = await openSink(d);
        owned.push(s);
        sinks.push(s);
      } else sinks.push(d);
    }
  } catch (err) {
    for (const s of owned) await s.close();
    throw err;
  }
  const names = new Set(sinks.map((s) => s.name));
  if (names.size !== sinks.length) throw new InvalidArgumentError('the same destination is listed twice');
  return {
    sinks,
    async close() {
      for (const s of owned) await s.close();
    },
  };
}

/**
 * sameChainEverywhere: undefined when every other destination has `folder` with the same
 * chain id and the same files as `manifest` on the first; else why not.
 */
export async function sameChainEverywhere(sinks: readonly Sink[], folder: string, manifest: ChainManifest): Promise<string | undefined> {
  for (const sink of sinks.slice(1)) {
    let other: ChainManifest;
    try {
      other = await readManifest(sink, folder);
    } catch {
      return `destination ${sink.name} does not have the chain ${folder}`;
    }
    const last = other.files.at(-1);
    const mine = manifest.files.at(-1);
    if (other.chainId !== manifest.chainId || other.files.length !== manifest.files.length || last?.sha256 !== mine?.sha256) {
      return `destination ${sink.name} holds a different state of the chain ${folder}`;
    }
  }
  return undefined;
}

/**
 * putFile: one backup file to every destination. Fails only when no destination completed
 * (or the source failed); the caller records the file in the manifest of every destination
 * that holds it, then applies the policy (writeManifests).
 */
export async function putFile(
  sinks: readonly Sink[],
  key: string,
  body: Readable,
  options: { signal?: AbortSignal; upload?: UploadMode; onDestinationBytes?: (index: number, bytes: number) => void },
): Promise<FanOutResult> {
  const onBytes = options.onDestinationBytes;
  const counted = onBytes ? sinks.map((s, i) => countingPuts(s, (n) => onBytes(i, n))) : sinks;
  if (options.upload !== 'local-first' || sinks.length === 1) return putToAll(counted, key, body, { signal: options.signal, policy: 'best-effort' });
  return putLocalFirst(counted, key, body, options.signal);
}

/**
 * countingPuts: `sink`, with each put's body counted as the sink consumes it (per-destination
 * upload progress). A Proxy, so `instanceof` still sees the sink's class and its methods
 * keep their own `this` (sinks use private fields).
 */
function countingPuts(sink: Sink, onBytes: (bytes: number) => void): Sink {
  const put: Sink['put'] = (key, body, options) => {
    const counter = new ByteCounter(onBytes);
    // The sink attaches its own error handling when it starts reading, which may be after an
    // await (a folder to create, a connection to open); an abort before that must not be an
    // uncaught 'error' event. The sink still sees the error: the stream is destroyed with it.
    counter.on('error', () => undefined);
    body.on('error', (err) => counter.destroy(err));
    return sink.put(key, body.pipe(counter), options);
  };
  return new Proxy(sink, {
    get(target, prop) {
      if (prop === 'put') return put;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * UploadMode: 'fan-out' (default): one pass feeds every destination at once, the slowest
 * sets the pace. 'local-first' (RavenDB's way): the file is written completely to the first
 * local destination (or a temporary folder when there is none), which releases the
 * snapshot at disk speed, then uploaded from there to the other destinations in parallel.
 */
export type UploadMode = 'fan-out' | 'local-first';

async function putLocalFirst(sinks: readonly Sink[], key: string, body: Readable, signal: AbortSignal | undefined): Promise<FanOutResult> {
  const started = performance.now();
  const localIndex = sinks.findIndex((s) => s instanceof LocalSink);
  const temp = localIndex < 0 ? await mkdtemp(join(tmpdir(), 'pagevault-upload-')) : undefined;
  const stage = localIndex >= 0 ? sinks[localIndex] : new LocalSink(temp!);
  const statuses: DestinationStatus[] = sinks.map((s) => ({ destination: s.name, ok: false, bytes: 0, ms: 0 }));
  try {
    const staged = await stage.put(key, body, { signal });
    if (localIndex >= 0) Object.assign(statuses[localIndex], { ok: true, bytes: staged.size, ms: performance.now() - started });
    await Promise.all(
      sinks.map(async (s, i) => {
        if (i === localIndex) return;
        try {
          const r = await s.put(key, await stage.get(key), { signal });
          Object.assign(statuses[i], { ok: true, bytes: r.size, ms: performance.now() - started });
        } catch (err) {
          const code = (err as { code?: unknown } | null)?.code;
          Object.assign(statuses[i], { ms: performance.now() - started, error: `${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}` });
        }
      }),
    );
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
  const result = { destinations: statuses };
  if (statuses.every((d) => !d.ok)) enforcePolicy(result, 'best-effort');
  return result;
}

/**
 * writeManifests: the manifest to every destination that completed the file, in parallel,
 * so those copies are whole and usable; then FanOutError if the policy ('all' by default)
 * is not met: the backup failed, and the error lists every destination's status.
 */
export async function writeManifests(sinks: readonly Sink[], put: FanOutResult, folder: string, manifest: ChainManifest, policy: FanOutPolicy = 'all'): Promise<void> {
  await Promise.all(sinks.map((s, i) => (put.destinations[i].ok ? writeManifest(s, folder, manifest) : undefined)));
  enforcePolicy(put, policy);
}

/** ChainChoice: the chain a backup extends (with its manifest and key), or why it starts a new one. */
export interface ChainChoice {
  folder: string;
  manifest?: ChainManifest;
  fullReason?: string;
  /** The key to use for this chain (a passphrase key re-derived under the chain's salt). */
  key?: LoadedKey;
}

/**
 * onEveryDestination: `choice` when it starts a new chain or every destination holds its
 * chain up to the same file; otherwise a new chain, with the reason.
 */
export async function onEveryDestination(choice: ChainChoice, sinks: readonly Sink[]): Promise<ChainChoice> {
  if (!choice.manifest || sinks.length < 2) return choice;
  const why = await sameChainEverywhere(sinks, choice.folder, choice.manifest);
  return why ? { folder: '', fullReason: why } : choice;
}

/**
 * openLockedDestinations: the destinations of a backup of the environment whose data file
 * is `dataPath`, and that environment's backup lock (`what` names the holder); when the lock
 * is taken, the destinations just opened are closed again.
 */
export async function openLockedDestinations(dest: Destination | readonly Destination[], dataPath: string, what: string): Promise<Destinations & { lock: BackupLock }> {
  const dests = await openDestinations(dest);
  try {
    return { ...dests, lock: acquireBackupLock(dataPath, what) };
  } catch (err) {
    await dests.close();
    throw err;
  }
}
