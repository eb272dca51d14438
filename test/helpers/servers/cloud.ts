/**
 * cloud: the S3 (s3rver) and Azure (Azurite) test servers as most remote-destination tests
 * use them: started once for the calling file or describe block (beforeAll; the test fails
 * if one cannot start), their credentials put in the environment where the sinks read
 * them, the environment restored and the servers stopped afterwards (afterAll), and the
 * destination URL of a folder on each.
 */
import { afterAll, beforeAll } from 'vitest';
import { startAzurite, type AzuriteServer } from './azurite-server.js';
import { startS3Server, type S3Server } from './s3-server.js';

export interface CloudServers {
  readonly s3: S3Server;
  readonly azure: AzuriteServer;
  /** `s3://…/<folder>` on the test bucket, path style, with `query` appended (e.g. `&partSize=5MiB`). */
  s3Url(folder: string, query?: string): string;
  /** `azure://…/<folder>` on the test container. */
  azureUrl(folder: string): string;
}

/** useCloudServers: see the module comment; `name` names the bucket and the container. */
export function useCloudServers(name: string): CloudServers {
  let s3: S3Server | undefined;
  let azure: AzuriteServer | undefined;
  const saved = { ...process.env };
  beforeAll(async () => {
    [s3, azure] = await Promise.all([startS3Server(name), startAzurite({ container: name })]);
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    process.env.AZURE_STORAGE_KEY = azure.credentials.accountKey;
  }, 60_000);
  afterAll(async () => {
    process.env = saved;
    await Promise.all([s3?.stop(), azure?.stop()]);
  });
  const started = <T>(server: T | undefined): T => {
    if (!server) throw new Error('useCloudServers: the servers are only available inside tests');
    return server;
  };
  return {
    get s3() {
      return started(s3);
    },
    get azure() {
      return started(azure);
    },
    s3Url: (folder, query = '') => `s3://${started(s3).bucket}/${folder}?endpoint=${encodeURIComponent(started(s3).endpoint)}&forcePathStyle=true&region=us-east-1${query}`,
    azureUrl: (folder) => `azure://${started(azure).account}/${started(azure).container}/${folder}?endpoint=${encodeURIComponent(started(azure).endpoint)}`,
  };
}
