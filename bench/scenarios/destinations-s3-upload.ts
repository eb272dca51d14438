/**
 * s3-upload, s3-upload-sdk: upload one ready backup file (a snapshot-full file of the
 * dataset, zstd 3 + AES, made untimed in `prepare` and shared by every run of the
 * invocation) to s3rver on loopback:
 * - s3-upload: through pagevault's s3:// sink (`Sink.put`: HeadObject, then a lib-storage
 *   Upload with the sink's default part size and queue size, behind its byte counter);
 * - s3-upload-sdk: `@aws-sdk/lib-storage` `Upload` called directly with the same part size
 *   (16 MiB), queue size (4) and client settings: the floor for the sink's overhead.
 * s3rver runs in its own process (bench/servers.ts); its CPU time during the timed step is
 * in `extra.serverCpuMs`. The table's MB/s is data.mdb bytes ÷ time; `extra.uploadMBps` is
 * the file's own bytes ÷ time.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { backupSnapshot, openSink, type Sink } from '../../src/index.js';
import { DEFAULT_PART_SIZE } from '../../src/sinks/s3.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { cpuSince, cpuSnapshot, startS3rver, type S3rverServer } from '../servers.js';
import { benchKey } from './snapshot-common.js';

/** QUEUE_SIZE: parts in flight, the s3:// sink's default (`?queueSize=`). */
const QUEUE_SIZE = 4;

interface State {
  file: string;
  size: number;
  server: S3rverServer;
  sink?: Sink;
  client?: S3Client;
}

/** uploadSource: the shared backup file to upload, made once per invocation (create, then rename). */
async function uploadSource(ctx: ScenarioContext): Promise<string> {
  const file = path.join(ctx.sharedDir, 'upload-source.pvb');
  try {
    await fsp.stat(file);
    return file;
  } catch {
    // not made yet
  }
  const dir = await fsp.mkdtemp(path.join(ctx.sharedDir, 'upload-source-'));
  const r = await backupSnapshot({ db: ctx.envDir, destination: dir, name: 'bench', key: await benchKey() });
  await fsp.rename(path.join(dir, r.chain, r.file), file);
  await fsp.rm(dir, { recursive: true, force: true });
  return file;
}

function makeUpload(name: string, description: string, viaSink: boolean): Scenario<State> {
  return {
    name,
    description,
    async prepare(ctx) {
      const file = await uploadSource(ctx);
      const { size } = await fsp.stat(file);
      const server = await startS3rver(path.join(ctx.outDir, 's3rver'));
      if (viaSink) return { file, size, server, sink: await openSink(server.url, { credentials: server.credentials }) };
      return { file, size, server, client: new S3Client(server.clientConfig()) };
    },
    inputs(_ctx, s) {
      return [s.file];
    },
    async run(_ctx, s) {
      const before = cpuSnapshot([s.server]);
      const t0 = performance.now();
      if (s.sink) {
        await s.sink.put('upload/backup.pvb', createReadStream(s.file));
      } else {
        const upload = new Upload({
          client: s.client as S3Client,
          partSize: DEFAULT_PART_SIZE,
          queueSize: QUEUE_SIZE,
          leavePartsOnError: false,
          params: { Bucket: s.server.bucket, Key: 'upload/backup.pvb', Body: createReadStream(s.file) },
        });
        await upload.done();
      }
      const ms = performance.now() - t0;
      return {
        outputBytes: s.size,
        extra: { fileBytes: s.size, uploadMBps: Math.round((s.size / 1e6 / (ms / 1000)) * 10) / 10, partSize: DEFAULT_PART_SIZE, queueSize: QUEUE_SIZE, serverCpuMs: cpuSince([s.server], before) },
      };
    },
    async after(_ctx, s) {
      await s.sink?.close();
      s.client?.destroy();
      await s.server.stop();
    },
  };
}

/** scenario: s3-upload (through the s3:// sink). */
export const scenario = makeUpload('s3-upload', 'upload one snapshot-full file (~55 MB small) to s3rver through the s3:// sink', true);
/** sdk: s3-upload-sdk (lib-storage Upload directly, same part and queue size). */
export const sdk = makeUpload('s3-upload-sdk', 'upload the same file to s3rver with @aws-sdk/lib-storage Upload directly', false);
