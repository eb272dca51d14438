/** The conformance suite against the FTP and FTPS sinks (ftp-srv on loopback), plus focused FTP tests. */
import { existsSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { createFtpSink } from '../../src/sinks/ftp.js';
import type { Sink } from '../../src/sinks/sink.js';
import { startFtpServer, type FtpTestServer } from '../helpers/servers/ftp-server.js';
import { describeSinkConformance } from './conformance/suite.js';

let plain: FtpTestServer;
let secure: FtpTestServer;
let n = 0;

beforeAll(async () => {
  plain = await startFtpServer();
  secure = await startFtpServer({ tls: true });
});
afterAll(async () => {
  await plain?.stop();
  await secure?.stop();
});

function sinkFor(server: FtpTestServer, scheme: 'ftp' | 'ftps', password = server.password): Sink {
  const url = new URL(`${scheme}://${server.user}@127.0.0.1:${server.port}/backups/t${++n}`);
  return createFtpSink(url, { credentials: { password }, caCert: server.cert });
}

describeSinkConformance('ftp:// (ftp-srv)', async () => ({ sink: sinkFor(plain, 'ftp'), cleanup: async () => {} }), { largeBytes: 8 * 1024 * 1024 });
describeSinkConformance('ftps:// explicit TLS (ftp-srv)', async () => ({ sink: sinkFor(secure, 'ftps'), cleanup: async () => {} }), { largeBytes: 8 * 1024 * 1024 });

describe('ftp sink', () => {
  it('a wrong password is a clear error that names neither password', async () => {
    const sink = sinkFor(plain, 'ftp', 'not-the-password-123');
    try {
      const err = await sink.stat('x').then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err?.code).toBe(ErrorCodes.IO);
      expect(err?.message).toMatch(/login refused/);
      expect(err?.message).not.toContain('not-the-password-123');
      expect(sink.name).not.toContain('not-the-password-123');
      expect(sink.name).toBe(`ftp://backup@127.0.0.1:${plain.port}/backups/t${n}`);
    } finally {
      await sink.close();
    }
  });

  it('ftps refuses a certificate it does not trust', async () => {
    const sink = createFtpSink(new URL(`ftps://${secure.user}@127.0.0.1:${secure.port}/b`), { credentials: { password: secure.password } });
    try {
      await expect(sink.stat('x')).rejects.toMatchObject({ code: ErrorCodes.IO });
    } finally {
      await sink.close();
    }
  });

  it('an interrupted upload leaves no key and no in-progress file on the server', async () => {
    const sink = sinkFor(plain, 'ftp');
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
      setTimeout(() => controller.abort(), 80);
      await expect(sink.put('chain/file', body, { signal: controller.signal })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
      await expect(sink.stat('chain/file')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      const listed: string[] = [];
      for await (const o of sink.list('')) listed.push(o.key);
      expect(listed).toEqual([]);
      // The folder exists only if the upload got as far as creating it (timing): either way, nothing is in it.
      const dir = `${plain.root}/backups/${folder}/chain`;
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    } finally {
      await sink.close();
    }
  });
});
