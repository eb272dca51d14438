/**
 * Real remote destinations end to end: one snapshot backup and one JSON backup fanned out
 * to a local folder, an S3-compatible server (s3rver) and Azure (Azurite), given as URLs
 * with credentials from the environment; then restores streamed straight from S3 and
 * from Azure equal the restore from the local copy. The servers run on loopback and the
 * test fails if one cannot start.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restore } from '../../src/api.js';
import { backupJson } from '../../src/backup/json-backup.js';
import { backupSnapshot } from '../../src/backup/snapshot-backup.js';
import { openDatabase } from '../../src/docdb/database.js';
import { useCloudServers } from '../helpers/servers/cloud.js';
import { startFtpServer } from '../helpers/servers/ftp-server.js';
import { startSftpServer } from '../helpers/servers/sftp-server.js';
import { useTmpEnv } from '../helpers/tmp-env.js';
import { digestEnv } from '../helpers/env-digest.js';

const tmp = useTmpEnv('pv-remote-');
const cloud = useCloudServers('pv-remote');

describe('remote destinations', () => {
  it('fans one backup out to local, S3 and Azure, and restores from each', async () => {
    const path = join(tmp.dir, 'db');
    const db = openDatabase(path);
    try {
      for (let i = 0; i < 3000; i++) await db.put('Users', null, { i, text: `user ${i} `.repeat(20) });
    } finally {
      await db.close();
    }
    const s3Url = cloud.s3Url('backups', '&partSize=5MiB');
    const azUrl = cloud.azureUrl('backups');
    const local = join(tmp.dir, 'local');
    const snap = await backupSnapshot({ db: path, destination: [local, s3Url, azUrl], name: 'shop' });
    expect(snap.destinations.map((d) => d.ok)).toEqual([true, true, true]);
    // Before the JSON backup, which records its chain as a tombstone consumer in @meta.
    const expected = await digestEnv(path);
    expect(snap.destinations.map((d) => d.destination).join(' ')).not.toMatch(new RegExp(cloud.azure.credentials.accountKey.slice(0, 12).replace(/[+/]/g, '.')));
    const json = await backupJson({ db: path, destination: [local, s3Url, azUrl], name: 'shop' });
    expect(json.destinations.every((d) => d.ok)).toBe(true);

    const withChain = (url: string, chain: string): string => url.replace('/backups?', `/backups/${chain}?`);
    for (const [label, from] of [['local', join(local, snap.chain)], ['s3', withChain(s3Url, snap.chain)], ['azure', withChain(azUrl, snap.chain)]] as const) {
      const to = join(tmp.dir, `snap-${label}`);
      const r = await restore({ from, to });
      expect(r.txnId).toBe(snap.txnId);
      expect(await digestEnv(to)).toEqual(expected);
    }
    for (const [label, from] of [['s3', withChain(s3Url, json.chain)], ['azure', withChain(azUrl, json.chain)]] as const) {
      const to = join(tmp.dir, `json-${label}`);
      const r = await restore({ from, to });
      expect(r).toMatchObject({ kind: 'docdb', docs: 3000 });
    }
  }, 120_000);

  it('backs up to FTP and SFTP (host key pinned) and restores from both', async () => {
    const ftp = await startFtpServer();
    const sftp = await startSftpServer();
    try {
      process.env.FTP_PASSWORD = ftp.password;
      process.env.SFTP_PASSWORD = sftp.password;
      const path = join(tmp.dir, 'db');
      const db = openDatabase(path);
      try {
        for (let i = 0; i < 500; i++) await db.put('Users', null, { i });
      } finally {
        await db.close();
      }
      const ftpUrl = `ftp://${ftp.user}@127.0.0.1:${ftp.port}/bk`;
      const sftpUrl = `sftp://${sftp.user}@127.0.0.1:${sftp.port}/bk?hostKeySha256=${encodeURIComponent(sftp.hostKeySha256)}`;
      const r = await backupSnapshot({ db: path, destination: [ftpUrl, sftpUrl], name: 'shop' });
      expect(r.destinations.map((d) => d.ok)).toEqual([true, true]);
      expect(r.destinations.map((d) => d.destination).join(' ')).not.toContain(ftp.password);
      const expected = await digestEnv(path);
      for (const [label, from] of [['ftp', `${ftpUrl}/${r.chain}`], ['sftp', sftpUrl.replace('/bk?', `/bk/${r.chain}?`)]] as const) {
        const to = join(tmp.dir, `r-${label}`);
        expect((await restore({ from, to })).txnId).toBe(r.txnId);
        expect(await digestEnv(to)).toEqual(expected);
      }
    } finally {
      await ftp.stop();
      await sftp.stop();
    }
  }, 120_000);
});
