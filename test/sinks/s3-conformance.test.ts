/** The conformance suite against the s3:// sink and a real s3rver on loopback (a fresh prefix per test). */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createS3Sink } from '../../src/sinks/s3.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3-server.js';
import { describeSinkConformance } from './conformance/suite.js';

let server: S3Server;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
});

// 5 MiB parts and a 24 MiB object: five parts, four in flight at once.
describeSinkConformance(
  's3:// (s3rver)',
  async () => {
    const url = new URL(`s3://${server.bucket}/conf-${randomUUID()}?region=us-east-1&endpoint=${encodeURIComponent(server.endpoint)}&forcePathStyle=true&partSize=5MiB&queueSize=4`);
    return { sink: createS3Sink(url, { credentials: server.credentials }), cleanup: async () => {} };
  },
  { largeBytes: 24 * 1024 * 1024 },
);
