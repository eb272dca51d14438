/** The conformance suite against the azure:// sink and a real Azurite blob server on loopback. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createAzureSink } from '../../src/sinks/azure.js';
import { startAzurite, type AzuriteServer } from '../helpers/servers/azurite-server.js';
import { describeSinkConformance } from './conformance/suite.js';

let server: AzuriteServer;
beforeAll(async () => {
  server = await startAzurite();
});
afterAll(async () => server?.stop());

// 4 MiB blocks: the suite's 24 MiB object is committed from 6 blocks, 4 staged in parallel.
describeSinkConformance('azure:// (Azurite)', async () => {
  const prefix = `conf-${randomUUID()}`;
  const url = new URL(`azure://${server.account}/${server.container}/${prefix}?endpoint=${encodeURIComponent(server.endpoint)}&blockSize=4MiB&concurrency=4`);
  return { sink: createAzureSink(url, { credentials: server.credentials }), cleanup: async () => {} };
});
