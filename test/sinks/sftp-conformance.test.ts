/** The conformance suite against the SFTP sink (ssh2 server on loopback; password and key auth), plus focused SFTP tests. */
import { existsSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { createSftpSink } from '../../src/sinks/sftp.js';
import { startSftpServer, type SftpTestServer } from '../helpers/servers/sftp-server.js';
import { describeSinkConformance } from './conformance/suite.js';

let server: SftpTestServer;
let n = 0;

beforeAll(async () => {
  server = await startSftpServer();
});
afterAll(async () => {
  await server?.stop();
});

function url(query = ''): URL {
  return new URL(`sftp://${server.user}@127.0.0.1:${server.port}/backups/t${++n}${query}`);
}

describeSinkConformance('sftp:// password (ssh2 server)', async () => ({ sink: createSftpSink(url(), { credentials: { password: server.password } }), cleanup: async () => {} }), { largeBytes: 8 * 1024 * 1024 });
describeSinkConformance(
  'sftp:// private key, pinned host key (ssh2 server)',
  async () => ({ sink: createSftpSink(url(`?hostKeySha256=${encodeURIComponent(`SHA256:${server.hostKeySha256}`)}`), { credentials: { privateKey: server.clientPrivateKey } }), cleanup: async () => {} }),
  { largeBytes: 8 * 1024 * 1024 },
);

async function expectError(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error & { code?: string },
  );
}

describe('sftp sink', () => {
  it('a wrong password is a clear error that names no password', async () => {
    const sink = createSftpSink(url(), { credentials: { password: 'not-the-password-123' } });
    try {
      const err = await expectError(sink.stat('x'));
      expect(err.code).toBe(ErrorCodes.IO);
      expect(err.message).toMatch(/authentication failed/);
      expect(err.message).not.toContain('not-the-password-123');
      expect(sink.name).not.toContain('not-the-password-123');
      expect(sink.name).toBe(`sftp://backup@127.0.0.1:${server.port}/backups/t${n}`);
    } finally {
      await sink.close();
    }
  });

  it('a pinned host key that does not match is refused', async () => {
    const sink = createSftpSink(url('?hostKeySha256=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), { credentials: { password: server.password } });
    try {
      const err = await expectError(sink.put('k', Readable.from([Buffer.from('x')])));
      expect(err.code).toBe(ErrorCodes.IO);
      expect(err.message).toMatch(/host key .* does not match the pinned hostKeySha256/);
      expect(err.message).not.toContain(server.password);
    } finally {
      await sink.close();
    }
  });

  it('an interrupted upload leaves no key and no in-progress file on the server', async () => {
    const sink = createSftpSink(url(), { credentials: { password: server.password } });
    const folder = `t${n}`;
    try {
      const controller = new AbortController();
      const body = Readable.from(
        (async function* () {
          for (let i = 0; i < 100; i++) {
            yield Buffer.alloc(128 * 1024, i);
            await new Promise((r) => setTimeout(r, 5));
          }
        })(),
      );
      setTimeout(() => controller.abort(), 150);
      await expect(sink.put('chain/file', body, { signal: controller.signal })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
      await expect(sink.stat('chain/file')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      const listed: string[] = [];
      for await (const o of sink.list('')) listed.push(o.key);
      expect(listed).toEqual([]);
      // The folder exists only if the upload got as far as creating it (timing): either way, nothing is in it.
      const dir = `${server.root}/backups/${folder}/chain`;
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    } finally {
      await sink.close();
    }
  });
});
