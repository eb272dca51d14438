/**
 * s3-server: a real s3rver (the npm S3-compatible server) on loopback for sink tests.
 * `startS3Server()` starts it on a free port with one bucket in a fresh temp folder and
 * throws if it cannot start (tests must fail, never skip). `stop()` closes it and removes
 * the folder; idempotent.
 *
 * s3rver checks signatures with the fixed key pair S3RVER/S3RVER. It does not implement
 * AbortMultipartUpload or ListMultipartUploads (both answer 405/501); unfinished uploads
 * stay as folders under `<directory>/<bucket>/.../uploads`, which `directory` exposes so
 * tests can look at them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** S3Server: a running s3rver. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The folder s3rver stores buckets in. */
  directory: string;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = 'pagevault-test'): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'pv-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  let address;
  try {
    address = await server.run();
  } catch (err) {
    rmSync(directory, { recursive: true, force: true });
    throw new Error(`s3rver could not start: ${(err as Error).message}`, { cause: err });
  }
  if (!address || typeof address.port !== 'number' || address.port === 0) throw new Error('s3rver started but reported no port');
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
