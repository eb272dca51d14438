/** sinks: backup destinations behind one small interface (sink.ts); `file://` now, cloud and FTP/SFTP in issue 5. */
export { LocalSink } from './local.js';
export { checkKey, isNotFound } from './sink.js';
export type { Sink, SinkProperties, ObjectInfo, PutResult as SinkPutResult } from './sink.js';
