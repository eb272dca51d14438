/**
 * sink: the storage interface every backup destination implements (local folder now;
 * S3, Azure, GCS, FTP, SFTP in issue 5). Small on purpose: put a stream, read it back
 * (optionally a byte range), stat, list, remove. The contracts below are what the backup
 * engine relies on; every implementation runs the same conformance suite.
 *
 * Keys are `/`-separated relative paths (`<chain folder>/<file>`), never absolute, never
 * containing `..` or empty segments; `checkKey` enforces that.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError, NotFoundError } from '../errors.js';

/** SinkProperties: capabilities, as data. */
export interface SinkProperties {
  /** A put either leaves the complete object under its key or nothing under it (never a partial object). */
  readonly atomicPut: boolean;
  /** get() honours byte ranges without reading the whole object. */
  readonly rangeReads: boolean;
}

/** ObjectInfo: what stat and list report. */
export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

/** PutResult: what a completed put wrote. */
export interface PutResult {
  key: string;
  size: number;
}

/**
 * Sink: one destination.
 *
 * - `put(key, body)`: stores all of `body` under `key`. Resolves only when the object is
 *   durable (fsynced, or acknowledged by the service). If it rejects, or `signal` aborts,
 *   nothing readable is left under `key` (local: a `*.in-progress` file is removed; remote:
 *   multipart uploads are aborted). Refuses to overwrite an existing key unless
 *   `overwrite: true` (backup files are never modified; only manifests are replaced).
 *   A put with overwrite replaces the object atomically where `atomicPut` is set.
 * - `get(key, range)`: a stream of the object's bytes; NotFoundError if it does not exist.
 *   A range past the end yields the bytes that exist (a short read is the caller's check).
 * - `stat(key)`: NotFoundError if it does not exist.
 * - `list(prefix)`: every object whose key starts with `prefix`, each once, in no
 *   particular order; objects still being put (in progress) are not listed.
 * - `remove(key)`: idempotent (removing a missing key succeeds).
 * - `close()`: releases connections; idempotent.
 * Read-after-write: after put resolves, get/stat/list see the object.
 */
export interface Sink {
  readonly name: string;
  readonly properties: SinkProperties;
  put(key: string, body: Readable, options?: { overwrite?: boolean; signal?: AbortSignal }): Promise<PutResult>;
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  stat(key: string): Promise<ObjectInfo>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Optional: the keys `list(prefix)` would give, where names alone are cheaper to get (a local folder: no stat per file). */
  listKeys?(prefix: string): AsyncIterable<string>;
  remove(key: string): Promise<void>;
  /**
   * Optional, for sinks whose puts write a file and rename it (local folder, FTP, SFTP): removes the in-progress
   * files of puts whose process on this machine is gone, and returns their keys. Never touches a file of a live
   * process or of another machine (see in-progress.ts). Object stores have nothing to sweep: an unfinished upload
   * is never visible there.
   */
  sweepAbandoned?(): Promise<string[]>;
  close(): Promise<void>;
}

/** checkKey: throws InvalidArgumentError unless `key` is a safe relative object key. */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) throw new InvalidArgumentError(`Expected an object key of 1-1024 characters but received ${JSON.stringify(key)}`);
  const parts = key.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..') || key.includes('\\') || key.includes('\0')) {
    throw new InvalidArgumentError(`Expected a relative object key without empty, "." or ".." segments but received ${JSON.stringify(key)}`);
  }
  return key;
}

/** isNotFound: true for the NotFoundError a sink throws for a missing key. */
export function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError || (typeof err === 'object' && err !== null && (err as { code?: string }).code === 'PAGEVAULT_ERR_NOT_FOUND');
}
