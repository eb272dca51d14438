/**
 * ssh2.d.ts: the part of ssh2's server API the SFTP test server uses (ssh2 ships no types).
 * @internal
 */
declare module 'ssh2' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer } from 'node:net';

  export interface ParsedKey {
    type: string;
    getPublicSSH(): Buffer;
    verify(data: Buffer, signature: Buffer, hashAlgo?: string): boolean;
  }
  export interface SftpAttrs {
    mode?: number;
    uid?: number;
    gid?: number;
    size?: number;
    atime?: number;
    mtime?: number;
  }
  export interface SftpServerStream extends EventEmitter {
    handle(reqid: number, handle: Buffer): void;
    status(reqid: number, code: number, message?: string): void;
    data(reqid: number, data: Buffer): void;
    name(reqid: number, names: { filename: string; longname: string; attrs: SftpAttrs }[]): void;
    attrs(reqid: number, attrs: SftpAttrs): void;
  }
  export interface AuthContext {
    method: string;
    username: string;
    password?: string;
    key?: { algo: string; data: Buffer };
    signature?: Buffer;
    blob?: Buffer;
    hashAlgo?: string;
    accept(): void;
    reject(methods?: string[]): void;
  }
  export interface Connection extends EventEmitter {
    end(): void;
  }
  export class Server extends NetServer {
    constructor(config: { hostKeys: (string | Buffer)[] }, listener: (client: Connection) => void);
  }
  export const utils: {
    parseKey(key: string | Buffer, passphrase?: string): ParsedKey | Error;
    generateKeyPairSync(type: 'ed25519' | 'rsa' | 'ecdsa', opts?: { bits?: number; passphrase?: string; cipher?: string }): { private: string; public: string };
    sftp: {
      flagsToString(flags: number): string | null;
      OPEN_MODE: Record<'READ' | 'WRITE' | 'APPEND' | 'CREAT' | 'TRUNC' | 'EXCL', number>;
      STATUS_CODE: Record<'OK' | 'EOF' | 'NO_SUCH_FILE' | 'PERMISSION_DENIED' | 'FAILURE' | 'BAD_MESSAGE' | 'NO_CONNECTION' | 'CONNECTION_LOST' | 'OP_UNSUPPORTED', number>;
    };
  };
}
