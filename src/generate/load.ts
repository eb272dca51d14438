/**
 * load: a concurrent writer for a document database (`pagevault load`), so backups can be
 * taken while the database changes. It commits small transactions of inserts, updates and
 * deletes at a target rate (or as fast as it can), through the ordinary DocumentDatabase
 * write path, and reports exactly what it committed.
 *
 * New and updated documents have the shape of the dataset profile (generated with the same
 * emitters as `generate`), so a loaded database stays realistic.
 */
import { unpack } from 'msgpackr';
import { AbortedError, InvalidArgumentError } from '../errors.js';
import { openDatabase, identityId, type DocumentDatabase } from '../docdb/database.js';
import { buildCorpus, type Corpus } from './corpus.js';
import { MsgpackWriter } from './msgpack-writer.js';
import { Rng, mix32, seedFromString } from './prng.js';
import { PROFILES, type Profile } from './profiles.js';
import { DATASET_EPOCH } from './generate.js';

/** LoadMix: relative weights of the operations. */
export interface LoadMix {
  insert: number;
  update: number;
  delete: number;
}

/** LoadOptions: see `pagevault load --help`. */
export interface LoadOptions {
  /** Directory of an existing document database. */
  path: string;
  /** Target document writes per second; 0 means as fast as possible. Default 1000. */
  writesPerSec?: number;
  /** How long to run, in seconds. Default 10. */
  durationSec?: number;
  /** Writes per transaction. Default 10. */
  writesPerTxn?: number;
  /** Operation mix; default { insert: 3, update: 6, delete: 1 }. */
  mix?: LoadMix;
  /** Seed for the choice of operations and documents; default "load". */
  seed?: string | number;
  /** Profile whose document shapes new documents take; default "default". */
  profile?: string;
  /** Called about once a second. */
  onProgress?: (p: LoadProgress) => void;
  /** Stops the load early; the result reports what was committed until then. */
  signal?: AbortSignal;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/** LoadProgress: running totals. */
export interface LoadProgress {
  transactions: number;
  writes: number;
  elapsedMs: number;
}

/** LoadResult: what the load committed. */
export interface LoadResult {
  transactions: number;
  writes: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** Updates or deletes that found their target already gone and wrote nothing. */
  misses: number;
  seconds: number;
  writesPerSec: number;
  firstEtag: number;
  lastEtag: number;
  aborted: boolean;
}

/** runLoad: write to the database at `options.path` until the duration passes or the signal aborts. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const writesPerSec = options.writesPerSec ?? 1000;
  const durationSec = options.durationSec ?? 10;
  const writesPerTxn = options.writesPerTxn ?? 10;
  if (!(writesPerSec >= 0) || !Number.isFinite(writesPerSec)) throw new InvalidArgumentError(`Expected a non-negative number for writesPerSec but received ${String(writesPerSec)}`);
  if (!(durationSec > 0) || !Number.isFinite(durationSec)) throw new InvalidArgumentError(`Expected a positive number for durationSec but received ${String(durationSec)}`);
  if (!Number.isInteger(writesPerTxn) || writesPerTxn < 1) throw new InvalidArgumentError(`Expected a positive integer for writesPerTxn but received ${String(writesPerTxn)}`);
  const mix = options.mix ?? { insert: 3, update: 6, delete: 1 };
  const mixTotal = mix.insert + mix.update + mix.delete;
  if (!(mixTotal > 0) || [mix.insert, mix.update, mix.delete].some((v) => !(v >= 0))) throw new InvalidArgumentError('Expected non-negative weights with a positive sum for mix');
  const profile = PROFILES[options.profile ?? 'default'];
  if (!profile) throw new InvalidArgumentError(`Expected one of ${Object.keys(PROFILES).join(', ')} for profile`);
  const now = options.now ?? (() => performance.now());

  const db = openDatabase(options.path, { create: false });
  try {
    const rng = new Rng(seedFromString(String(options.seed ?? 'load')));
    const maker = new DocumentMaker(profile, rng.next(), buildCorpus(rng.next(), 4 << 20));
    const firstEtag = db.lastEtag;
    const result: LoadResult = { transactions: 0, writes: 0, inserts: 0, updates: 0, deletes: 0, misses: 0, seconds: 0, writesPerSec: 0, firstEtag, lastEtag: firstEtag, aborted: false };
    const started = now();
    const deadline = started + durationSec * 1000;
    let lastReport = started;
    const pending = new Set<Promise<void>>();

    while (now() < deadline) {
      if (options.signal?.aborted) {
        result.aborted = true;
        break;
      }
      // Pace: the writes done so far should not run ahead of the target rate.
      if (writesPerSec > 0) {
        const due = started + (result.writes / writesPerSec) * 1000;
        const wait = due - now();
        if (wait > 1) await sleep(Math.min(wait, deadline - now()));
        if (now() >= deadline) break;
      }
      const ops = Array.from({ length: writesPerTxn }, () => pickOp(rng, mix, mixTotal));
      const p = db.env
        .transaction(() => {
          const t = Date.now();
          for (const op of ops) applyOp(db, maker, rng, op, t, result);
        })
        .then(() => {
          result.transactions++;
          pending.delete(p);
        });
      pending.add(p);
      result.writes += writesPerTxn;
      // Keep a few transactions queued so lmdb-js can batch commits, but bound the queue.
      if (pending.size >= 8) await Promise.race(pending);
      else if (writesPerSec === 0) await new Promise((r) => setImmediate(r));
      if (now() - lastReport >= 1000) {
        lastReport = now();
        options.onProgress?.({ transactions: result.transactions, writes: result.writes, elapsedMs: lastReport - started });
      }
    }
    await Promise.all(pending);
    result.writes = result.inserts + result.updates + result.deletes;
    result.seconds = (now() - started) / 1000;
    result.writesPerSec = result.seconds > 0 ? result.writes / result.seconds : 0;
    result.lastEtag = db.lastEtag;
    if (result.aborted && options.signal?.reason instanceof AbortedError) throw options.signal.reason;
    return result;
  } finally {
    await db.close();
  }
}

type Op = 'insert' | 'update' | 'delete';

function pickOp(rng: Rng, mix: LoadMix, total: number): Op {
  const r = rng.float() * total;
  return r < mix.insert ? 'insert' : r < mix.insert + mix.update ? 'update' : 'delete';
}

/** applyOp: one write inside the current transaction; counts it in `result`. */
function applyOp(db: DocumentDatabase, maker: DocumentMaker, rng: Rng, op: Op, t: number, result: LoadResult): void {
  const collections = maker.collections;
  const ci = rng.int(0, collections.length - 1);
  const collection = collections[ci];
  if (op === 'insert') {
    db.putInTransaction(collection, null, maker.make(ci, rng, db), t);
    result.inserts++;
    return;
  }
  const last = db.identities.get(collection) ?? 0;
  const id = identityId(collection, rng.int(1, Math.max(1, last)));
  if (op === 'delete') {
    if (db.deleteInTransaction(id, t)) result.deletes++;
    else result.misses++;
    return;
  }
  const current = db.docs.get(id);
  if (!current) {
    result.misses++;
    return;
  }
  // An update rewrites the document with fresh content of its collection's shape, keeping
  // fields that unique indexes read (so updates do not collide on them).
  const known = collections.indexOf(current.collection);
  const body = maker.make(known >= 0 ? known : ci, rng, db);
  for (const def of db.indexesFor(current.collection)) if (def.unique) for (const f of def.fields) copyPath(current.body, body, f);
  body.revision = (typeof current.body.revision === 'number' ? current.body.revision : 0) + 1;
  db.putInTransaction(current.collection, id, body, t);
  result.updates++;
}

function copyPath(from: Record<string, unknown>, to: Record<string, unknown>, path: string): void {
  const parts = path.split('.');
  let src: unknown = from;
  let dst: Record<string, unknown> = to;
  for (let i = 0; i < parts.length - 1; i++) {
    src = src && typeof src === 'object' ? (src as Record<string, unknown>)[parts[i]] : undefined;
    if (typeof dst[parts[i]] !== 'object' || dst[parts[i]] === null) dst[parts[i]] = {};
    dst = dst[parts[i]] as Record<string, unknown>;
  }
  const leaf = parts[parts.length - 1];
  const v = src && typeof src === 'object' ? (src as Record<string, unknown>)[leaf] : undefined;
  if (v === undefined) delete dst[leaf];
  else dst[leaf] = v;
}

/** DocumentMaker: new document bodies of a profile's shapes, as plain objects. */
class DocumentMaker {
  readonly collections: string[];
  readonly #profile: Profile;
  readonly #seed: number;
  readonly #corpus: Corpus;
  readonly #w = new MsgpackWriter(1 << 16);
  readonly #docRng = new Rng(0);
  #countsAt = -Infinity;
  #countsCache: Record<string, number> = {};

  /** #counts: identities per collection (for references), refreshed every 1,000 etags. */
  #counts(db: DocumentDatabase): Record<string, number> {
    const etag = db.lastEtag;
    if (etag - this.#countsAt >= 1000) {
      this.#countsAt = etag;
      this.#countsCache = {};
      for (const { key, value } of db.identities.getRange({})) this.#countsCache[key] = value;
    }
    return this.#countsCache;
  }

  constructor(profile: Profile, seed: number, corpus: Corpus) {
    this.#profile = profile;
    this.collections = profile.collections.map((c) => c.name);
    this.#seed = seed;
    this.#corpus = corpus;
  }

  /** make: a body for collection `collectionIx`; call inside the write transaction. */
  make(collectionIx: number, rng: Rng, db: DocumentDatabase): Record<string, unknown> {
    const spec = this.#profile.collections[collectionIx];
    this.#w.reset();
    this.#w.beginValue();
    // Fields meant to be unique (e-mail) embed `n`: derive it from the etag this write is
    // about to get, which no other write ever gets, in a range generated data never uses.
    const n = 1e12 + db.lastEtag + 1;
    this.#docRng.reseed(mix32(this.#seed, rng.next()));
    spec.emit(this.#w, { rng: this.#docRng, corpus: this.#corpus, n, counts: this.#counts(db), epoch: DATASET_EPOCH });
    return unpack(this.#w.buf.subarray(0, this.#w.pos)) as Record<string, unknown>;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
