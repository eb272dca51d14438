/**
 * ssh2-sftp-client.d.ts: the small part of ssh2-sftp-client (and of ssh2's SFTPWrapper
 * it exposes as `sftp`) the sftp sink uses; the packages ship no types.
 * @internal
 */
declare module 'ssh2-sftp-client' {
  import type { Readable, Writable } from 'node:stream';

  export interface SftpStats {
    size: number;
    mtime: number;
    mode: number;
    isFile(): boolean;
    isDirectory(): boolean;
  }
  export interface SftpDirEntry {
    filename: string;
    attrs: SftpStats;
  }
  type Cb<T = void> = (err: (Error & { code?: unknown }) | null | undefined, value: T) => void;
  export interface SftpWrapper {
    stat(path: string, cb: Cb<SftpStats>): void;
    readdir(path: string, cb: Cb<SftpDirEntry[]>): void;
    unlink(path: string, cb: Cb): void;
    rename(from: string, to: string, cb: Cb): void;
    ext_openssh_rename(from: string, to: string, cb: Cb): void;
    createReadStream(path: string, options?: { start?: number; end?: number }): Readable;
    createWriteStream(path: string, options?: { flags?: string; mode?: number }): Writable;
  }
  export interface ConnectOptions {
    host: string;
    port: number;
    username: string;
    password?: string;
    privateKey?: string | Buffer;
    passphrase?: string;
    readyTimeout?: number;
    hostVerifier?: (key: Buffer) => boolean;
  }
  export default class SftpClient {
    constructor(name?: string);
    sftp: SftpWrapper | undefined;
    connect(options: ConnectOptions): Promise<SftpWrapper>;
    mkdir(path: string, recursive?: boolean): Promise<string>;
    end(): Promise<boolean>;
  }
}
