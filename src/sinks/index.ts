/**
 * sinks: backup destinations behind one small interface (sink.ts): local folders, S3 (and
 * S3-compatible hosts, Glacier classes), Google Cloud Storage (S3 XML API), Azure blobs,
 * FTP/FTPS and SFTP, opened by URL (registry.ts); fan-out to several at once (fanout.ts);
 * retry, concurrency-limit and logging wrappers (wrap/).
 */
export { LocalSink } from './local.js';
export { checkKey, isNotFound } from './sink.js';
export type { Sink, SinkProperties, ObjectInfo, PutResult as SinkPutResult } from './sink.js';
export { openSink, registerSinkScheme, destinationSchemes, redact, type OpenSinkOptions, type SinkFactory } from './registry.js';
export type { SinkOpenOptions, SinkCredentials } from './open-options.js';
export { putToAll, FanOutError, type DestinationStatus, type FanOutPolicy, type FanOutResult } from './fanout.js';
export { withRetry, isTransient, type RetryOptions } from './wrap/retry.js';
export { withLimit, Semaphore } from './wrap/limit.js';
export { withLog, type SinkLogEntry } from './wrap/log.js';
