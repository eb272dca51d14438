/**
 * `pagevault serve --tls-cert --tls-key`: the API over HTTPS (a self-signed certificate for
 * 127.0.0.1 made by openssl). A client that trusts the certificate (NODE_EXTRA_CA_CERTS)
 * works; one that does not is refused with PAGEVAULT_ERR_SERVER_UNREACHABLE naming the
 * certificate problem; plain HTTP to the port gets nothing; --tls-cert alone is a usage error.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../helpers/servers/ftp-server.js';

const BIN = resolve(__dirname, '../../bin/pagevault.js');
let dir: string;
let child: ChildProcess;
let url: string;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pv-tls-'));
  makeSelfSignedCert(dir);
  child = spawn(process.execPath, [BIN, 'serve', '--data', join(dir, 'srv'), '--port', '0', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((ok, fail) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const k = /(pv_[A-Za-z0-9_-]+)/.exec(out);
      const m = /listening on (\S+)/.exec(out);
      if (k && m) {
        key = k[1];
        url = m[1];
        ok();
      }
    });
    child.on('exit', (code) => fail(new Error(`serve exited with ${code}`)));
  });
});
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

const cli = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, PAGEVAULT_API_KEY: key, ...env } });

describe('pagevault serve over TLS', () => {
  it('serves HTTPS to clients that trust its certificate, and only to them', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const trusted = cli({ NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, 'status', '--url', url);
    expect(trusted.status, trusted.stderr).toBe(0);
    expect(trusted.stdout).toMatch(/no tasks/);
    const untrusted = cli({}, 'status', '--url', url);
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toMatch(/PAGEVAULT_ERR_SERVER_UNREACHABLE: cannot reach the pagevault server .*(SELF_SIGNED|CERT|certificate)/i);
    const plain = cli({}, 'status', '--url', url.replace('https:', 'http:'));
    expect(plain.status).toBe(1);
    expect(plain.stderr).toMatch(/PAGEVAULT_ERR_SERVER_UNREACHABLE/);
  });

  it('refuses a certificate without its key', () => {
    const r = cli({}, 'serve', '--data', join(dir, 'other'), '--tls-cert', join(dir, 'cert.pem'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--tls-cert and --tls-key go together/);
  });
});
