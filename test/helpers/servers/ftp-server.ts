/**
 * ftp-server: a real FTP server (ftp-srv) on 127.0.0.1 for sink tests, serving a fresh
 * temp folder to one user/password. `tls: true` adds explicit TLS (AUTH TLS) with a
 * self-signed certificate made by openssl at start (subjectAltName IP:127.0.0.1, so
 * clients can verify it with `caCert`). Throws if the server cannot start (tests must
 * fail, not skip).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FtpSrv } from 'ftp-srv';

/** FtpTestServer: a running server; `root` is the folder behind `/`; `stop()` is idempotent. */
export interface FtpTestServer {
  port: number;
  user: string;
  password: string;
  root: string;
  /** The self-signed certificate (PEM) when started with TLS. */
  cert?: string;
  stop(): Promise<void>;
}

/** silentLog: ftp-srv logs through bunyan by default; tests want quiet. */
function silentLog(): unknown {
  const noop = (): void => undefined;
  const log: Record<string, unknown> = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop };
  log.child = () => log;
  return log;
}

/** makeSelfSignedCert: a one-day RSA certificate for 127.0.0.1 in `dir` (openssl). */
export function makeSelfSignedCert(dir: string): { key: string; cert: string } {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { stdio: 'pipe' });
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
}

/** startFtpServer: see the module comment. Passive ports are picked on 127.0.0.1 from a random range. */
export async function startFtpServer(options: { tls?: boolean } = {}): Promise<FtpTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pv-ftp-'));
  const root = join(dir, 'root');
  execFileSync('mkdir', ['-p', root]);
  const user = 'backup';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  let tls: { key: string; cert: string } | undefined;
  try {
    if (options.tls) tls = makeSelfSignedCert(dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start the FTPS test server: openssl failed: ${(err as Error).message}`);
  }
  const pasvMin = 20_000 + Math.floor(Math.random() * 30_000);
  const srv = new FtpSrv({
    url: 'ftp://127.0.0.1:0',
    pasv_url: '127.0.0.1',
    pasv_min: pasvMin,
    pasv_max: pasvMin + 2_000,
    anonymous: false,
    tls: tls ? { key: tls.key, cert: tls.cert } : false,
    greeting: 'pagevault test server',
    log: silentLog(),
  });
  srv.on('login', ({ username, password: given }: { username: string; password: string }, resolve: (r: { root: string }) => void, reject: (e: Error) => void) => {
    if (username === user && given === password) resolve({ root });
    else reject(new Error('invalid login'));
  });
  try {
    await srv.listen();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start the FTP test server: ${(err as Error).message}`);
  }
  const port = ((srv as unknown as { server: Server }).server.address() as AddressInfo).port;
  let stopped = false;
  return {
    port,
    user,
    password,
    root,
    cert: tls?.cert,
    async stop() {
      if (stopped) return;
      stopped = true;
      await srv.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
