/**
 * restore-from-s3: snapshot-restore's chain (a full and 10 incrementals, each after 0.5%
 * of the documents changed; zstd 3 + AES), backed up untimed straight to s3rver on
 * loopback, restored from `<destination URL>/<chain folder>` into a new folder (fsynced).
 * Compare with `snapshot-restore` (the same chain in a local folder) in the same
 * invocation. s3rver runs in its own process (bench/servers.ts); its CPU time during the
 * timed step is in `extra.serverCpuMs`. The warm-cache pre-read covers s3rver's data folder.
 */
import path from 'node:path';
import type { LoadedKey, Sink } from '../../src/index.js';
import { backupSnapshot, openSink, restoreSnapshot } from '../../src/index.js';
import type { Scenario } from '../scenario.js';
import { cpuSince, cpuSnapshot, startS3rver, type S3rverServer } from '../servers.js';
import { benchKey, cloneEnv, touchDocuments } from './snapshot-common.js';

interface State {
  server: S3rverServer;
  chain: string;
  key: LoadedKey;
  backupBytes: number;
}

/** scenario: restore-from-s3. */
export const scenario: Scenario<State> = {
  name: 'restore-from-s3',
  description: 'pagevault restore of full + 10 incrementals (zstd 3 + AES) streamed from s3rver on loopback, fsynced',
  async prepare(ctx) {
    const server = await startS3rver(path.join(ctx.outDir, 's3rver'));
    let sink: Sink | undefined;
    try {
      sink = await openSink(server.url, { credentials: server.credentials });
      const env = await cloneEnv(ctx.envDir, ctx.outDir);
      const key = await benchKey();
      let r = await backupSnapshot({ db: env, destination: sink, name: 'bench', key });
      let backupBytes = r.bytesWritten;
      for (let i = 0; i < 10; i++) {
        await touchDocuments(env, 0.005, 100 + i);
        r = await backupSnapshot({ db: env, destination: sink, name: 'bench', key, incremental: true });
        backupBytes += r.bytesWritten;
      }
      // The restore opens the destination by URL, as `pagevault restore --from` does; the
      // s3:// sink takes its credentials from the environment then.
      process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
      return { server, chain: r.chain, key, backupBytes };
    } catch (err) {
      await server.stop();
      throw err;
    } finally {
      await sink?.close();
    }
  },
  inputs(ctx) {
    return [path.join(ctx.outDir, 's3rver')];
  },
  async run(ctx, s) {
    const [base, query] = s.server.url.split('?');
    const before = cpuSnapshot([s.server]);
    const r = await restoreSnapshot({ from: `${base}/${s.chain}?${query}`, to: path.join(ctx.outDir, 'restored'), key: s.key });
    return {
      outputPath: path.join(ctx.outDir, 'restored'),
      extra: { files: r.files.length, pages: r.pages, chainBytes: s.backupBytes, serverCpuMs: cpuSince([s.server], before) },
    };
  },
  async after(_ctx, s) {
    await s.server.stop();
  },
};
