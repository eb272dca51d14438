/**
 * sftp-server: a real SSH/SFTP server (ssh2's Server, real sockets, real SSH protocol) on
 * 127.0.0.1 for sink tests, serving a fresh temp folder as `/` to one user, who may log in
 * with a password or with the client key generated at start. The host key is generated at
 * start too; `hostKeySha256` is its OpenSSH-style fingerprint (base64, no padding).
 *
 * SFTP requests map to node:fs: OPEN/READ/WRITE/FSTAT/CLOSE, OPENDIR/READDIR, STAT/LSTAT,
 * MKDIR, REMOVE, RENAME (refuses an existing target, like OpenSSH's link + unlink),
 * REALPATH and SETSTAT/FSETSTAT (accepted, ignored). No extensions are advertised, so
 * clients fall back from posix-rename. Throws if the server cannot start.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, linkSync, lstatSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import ssh2, { type AuthContext, type Connection, type SftpAttrs, type SftpServerStream } from 'ssh2';

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

/** SftpTestServer: a running server; `root` is the folder behind `/`; `stop()` is idempotent. */
export interface SftpTestServer {
  port: number;
  user: string;
  password: string;
  /** The client's private key (OpenSSH format) accepted for `user`. */
  clientPrivateKey: string;
  hostKeySha256: string;
  root: string;
  stop(): Promise<void>;
}

function attrsOf(s: Stats): SftpAttrs {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
}

/** startSftpServer: see the module comment. */
export async function startSftpServer(): Promise<SftpTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pv-sftp-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  const user = 'backup';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const hostKey = utils.generateKeyPairSync('ed25519');
  const clientKey = utils.generateKeyPairSync('ed25519');
  const allowed = utils.parseKey(clientKey.public);
  const parsedHost = utils.parseKey(hostKey.public);
  if (allowed instanceof Error || parsedHost instanceof Error) throw new Error('cannot start the SFTP test server: key generation failed');
  const hostKeySha256 = createHash('sha256').update(parsedHost.getPublicSSH()).digest('base64').replace(/=+$/, '');
  const connections = new Set<Connection>();

  /** local: the real path under `root` of an SFTP path (`..` cannot escape: normalized from `/`). */
  const local = (p: string): string => join(root, posix.normalize(`/${p}`));

  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx: AuthContext) => {
      if (ctx.username !== user) return ctx.reject(['password', 'publickey']);
      if (ctx.method === 'password' && ctx.password === password) return ctx.accept();
      if (ctx.method === 'publickey' && ctx.key && ctx.key.data.equals(allowed.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept(); // a probe: "would this key do?"
        if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.accept();
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession: () => EventEmitterLike) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp: () => SftpServerStream) => serveSftp(acceptSftp(), local));
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error) => reject(new Error(`cannot start the SFTP test server: ${err.message}`)));
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  return {
    port,
    user,
    password,
    clientPrivateKey: clientKey.private,
    hostKeySha256,
    root,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of connections) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface EventEmitterLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/** serveSftp: answer one SFTP session's requests from the local filesystem. */
function serveSftp(sftp: SftpServerStream, local: (p: string) => string): void {
  const files = new Map<number, number>(); // handle id -> fd
  const dirs = new Map<number, { path: string; done: boolean }>();
  let next = 1;
  const handleOf = (id: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(id);
    return b;
  };
  const idOf = (h: Buffer): number => (h.length === 4 ? h.readUInt32BE(0) : -1);
  const fail = (reqid: number, err: unknown): void => {
    const code = (err as NodeJS.ErrnoException).code;
    sftp.status(reqid, code === 'ENOENT' || code === 'ENOTDIR' ? STATUS_CODE.NO_SUCH_FILE : code === 'EACCES' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE, (err as Error).message);
  };
  const guard = (reqid: number, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      fail(reqid, err);
    }
  };

  sftp.on('OPEN', (reqid: number, filename: string, flags: number) =>
    guard(reqid, () => {
      let mode = flags & OPEN_MODE.WRITE ? (flags & OPEN_MODE.READ ? 'r+' : 'w') : 'r';
      if (flags & OPEN_MODE.WRITE && !(flags & OPEN_MODE.TRUNC)) mode = flags & OPEN_MODE.CREAT ? 'a+' : 'r+';
      if (flags & OPEN_MODE.EXCL) mode = 'wx';
      const fd = openSync(local(filename), mode, 0o644);
      const id = next++;
      files.set(id, fd);
      sftp.handle(reqid, handleOf(id));
    }),
  );
  sftp.on('READ', (reqid: number, handle: Buffer, offset: number, length: number) =>
    guard(reqid, () => {
      const fd = files.get(idOf(handle));
      if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, offset);
      if (n === 0) return sftp.status(reqid, STATUS_CODE.EOF);
      sftp.data(reqid, buf.subarray(0, n));
    }),
  );
  sftp.on('WRITE', (reqid: number, handle: Buffer, offset: number, data: Buffer) =>
    guard(reqid, () => {
      const fd = files.get(idOf(handle));
      if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      writeSync(fd, data, 0, data.length, offset);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('FSTAT', (reqid: number, handle: Buffer) =>
    guard(reqid, () => {
      const fd = files.get(idOf(handle));
      if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      sftp.attrs(reqid, attrsOf(fstatSync(fd)));
    }),
  );
  sftp.on('CLOSE', (reqid: number, handle: Buffer) =>
    guard(reqid, () => {
      const id = idOf(handle);
      const fd = files.get(id);
      if (fd !== undefined) {
        files.delete(id);
        closeSync(fd);
      } else if (!dirs.delete(id)) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('OPENDIR', (reqid: number, path: string) =>
    guard(reqid, () => {
      if (!statSync(local(path)).isDirectory()) return sftp.status(reqid, STATUS_CODE.FAILURE, 'not a directory');
      const id = next++;
      dirs.set(id, { path, done: false });
      sftp.handle(reqid, handleOf(id));
    }),
  );
  sftp.on('READDIR', (reqid: number, handle: Buffer) =>
    guard(reqid, () => {
      const d = dirs.get(idOf(handle));
      if (!d) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      if (d.done) return sftp.status(reqid, STATUS_CODE.EOF);
      d.done = true;
      const names = readdirSync(local(d.path)).flatMap((name) => {
        try {
          const s = lstatSync(join(local(d.path), name));
          return [{ filename: name, longname: `${s.isDirectory() ? 'd' : '-'}rw-r--r-- 1 u g ${s.size} Jan 1 00:00 ${name}`, attrs: attrsOf(s) }];
        } catch {
          return []; // removed meanwhile
        }
      });
      if (names.length === 0) return sftp.status(reqid, STATUS_CODE.EOF);
      sftp.name(reqid, names);
    }),
  );
  for (const op of ['STAT', 'LSTAT'] as const) {
    sftp.on(op, (reqid: number, path: string) => guard(reqid, () => sftp.attrs(reqid, attrsOf(op === 'STAT' ? statSync(local(path)) : lstatSync(local(path))))));
  }
  sftp.on('MKDIR', (reqid: number, path: string) =>
    guard(reqid, () => {
      mkdirSync(local(path));
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('REMOVE', (reqid: number, path: string) =>
    guard(reqid, () => {
      unlinkSync(local(path));
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('RENAME', (reqid: number, from: string, to: string) =>
    guard(reqid, () => {
      linkSync(local(from), local(to)); // EEXIST if the target exists: OpenSSH's rename semantics
      unlinkSync(local(from));
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('REALPATH', (reqid: number, path: string) => {
    const p = posix.normalize(`/${path}`);
    sftp.name(reqid, [{ filename: p, longname: p, attrs: {} }]);
  });
  for (const op of ['SETSTAT', 'FSETSTAT'] as const) sftp.on(op, (reqid: number) => sftp.status(reqid, STATUS_CODE.OK));
}
