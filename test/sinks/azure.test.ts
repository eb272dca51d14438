/**
 * The azure:// sink beyond the conformance suite: URL and credential validation, SAS
 * authentication, secret-free errors, atomic (commit-only) puts, conditional commits,
 * access tiers and block layout, against a real Azurite server on loopback.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { createAzureSink, parseAzureUrl } from '../../src/sinks/azure.js';
import type { Sink } from '../../src/sinks/sink.js';
import { AZURITE_KEY, startAzurite, type AzuriteServer } from '../helpers/servers/azurite-server.js';

const key = { credentials: { accountKey: 'a2V5' } };

async function bytesOf(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

type SinkError = Error & { code: string; statusCode?: number };

/** rejection: the error `p` rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<SinkError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as SinkError,
  );
}

async function keysOf(sink: Sink, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of sink.list(prefix)) keys.push(o.key);
  return keys.sort();
}

describe('azure:// URL and credentials', () => {
  it('parses account, container, prefix and options, with defaults', () => {
    expect(parseAzureUrl(new URL('azure://acct/backups'))).toEqual({
      account: 'acct',
      container: 'backups',
      prefix: '',
      endpoint: 'https://acct.blob.core.windows.net',
      blockSize: 8 * 1024 * 1024,
      concurrency: 4,
      accessTier: undefined,
      maxTries: 5,
    });
    const c = parseAzureUrl(new URL('azure://acct/backups/db/prod/?endpoint=http://127.0.0.1:10000/devstoreaccount1/&blockSize=16MiB&concurrency=8&accessTier=cool&maxTries=2'));
    expect(c).toMatchObject({ prefix: 'db/prod', endpoint: 'http://127.0.0.1:10000/devstoreaccount1', blockSize: 16 * 1024 * 1024, concurrency: 8, accessTier: 'Cool', maxTries: 2 });
    expect(parseAzureUrl(new URL('azure://acct/backups?blockSize=1048576')).blockSize).toBe(1048576);
  });

  it('rejects a missing or invalid container, a bad accessTier, bad numbers and unknown options', () => {
    for (const bad of [
      'azure://acct',
      'azure://acct/',
      'azure://acct/Upper',
      'azure://acct/a',
      'azure://acct/c--c',
      'azure://ACCT!/backups',
      'azure://acct/backups/a//b',
      'azure://acct/backups?accessTier=Glacier',
      'azure://acct/backups?blockSize=8XB',
      'azure://acct/backups?blockSize=5000MiB',
      'azure://acct/backups?concurrency=0',
      'azure://acct/backups?maxTries=-1',
      'azure://acct/backups?endpoint=ftp://x',
      'azure://acct/backups?region=x',
      'azure://user:pw@acct/backups',
    ]) {
      expect(() => createAzureSink(new URL(bad), key), bad).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    }
  });

  it('without an account key or SAS token fails naming the environment variables', () => {
    const err = (() => {
      try {
        createAzureSink(new URL('azure://acct/backups'), { credentials: {} });
      } catch (e) {
        return e as Error & { code: string };
      }
      return undefined;
    })();
    expect(err?.code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(err?.message).toContain('AZURE_STORAGE_KEY');
    expect(err?.message).toContain('AZURE_STORAGE_SAS');
  });

  it('its name is the URL without options or secrets', () => {
    const sink = createAzureSink(new URL('azure://acct/backups/p/q?endpoint=http://h:1/acct'), { credentials: { sasToken: 'sv=2020&sig=SECRETSIG' } });
    expect(sink.name).toBe('azure://acct/backups/p/q');
    expect(sink.properties).toEqual({ atomicPut: true, rangeReads: true });
  });
});

describe('AzureSink against Azurite', () => {
  let server: AzuriteServer;
  beforeAll(async () => {
    server = await startAzurite();
  });
  afterAll(async () => server?.stop());

  const urlFor = (prefix: string, extra = ''): URL =>
    new URL(`azure://${server.account}/${server.container}/${prefix}?endpoint=${encodeURIComponent(server.endpoint)}${extra}`);

  it('authenticates with a container SAS token', async () => {
    const sas = generateBlobSASQueryParameters(
      { containerName: server.container, permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3600_000) },
      new StorageSharedKeyCredential(server.account, AZURITE_KEY),
    ).toString();
    const sink = createAzureSink(urlFor(`sas-${randomUUID()}`), { credentials: { sasToken: `?${sas}` } });
    await sink.put('c/one', Readable.from([Buffer.from('via sas')]));
    expect((await bytesOf(await sink.get('c/one'))).toString()).toBe('via sas');
    expect(await keysOf(sink, 'c/')).toEqual(['c/one']);
    await sink.remove('c/one');
    await expect(sink.stat('c/one')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    expect(sink.name).not.toContain(sas);
  });

  it('a wrong account key or SAS gives an IoError (HTTP 403) that names neither', async () => {
    const wrongKey = Buffer.from('not the key, but 64 bytes long.................................').toString('base64');
    const bad = createAzureSink(urlFor('x', '&maxTries=1'), { credentials: { accountKey: wrongKey } });
    const err = await rejection(bad.put('k', Readable.from([Buffer.from('x')])));
    expect(err).toMatchObject({ code: ErrorCodes.IO, statusCode: 403 });
    expect(err.message).toMatch(/HTTP 403/);
    for (const text of [err.message, err.stack ?? '', bad.name]) expect(text).not.toContain(wrongKey);
    const listErr = await rejection(
      (async () => {
        for await (const o of bad.list('')) void o;
      })(),
    );
    expect(listErr).toMatchObject({ code: ErrorCodes.IO });
    expect(listErr.message).not.toContain(wrongKey);

    const badSig = 'ForgedSignatureValue1234567890abcdefABCDEF=';
    const sas = `sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&spr=http&sig=${encodeURIComponent(badSig)}`;
    const badSas = createAzureSink(urlFor('x', '&maxTries=1'), { credentials: { sasToken: sas } });
    const sasErr = await rejection(badSas.stat('k'));
    expect(sasErr).toMatchObject({ code: ErrorCodes.IO, statusCode: 403 });
    for (const text of [sasErr.message, sasErr.stack ?? '', badSas.name]) {
      expect(text).not.toContain(badSig);
      expect(text).not.toContain(encodeURIComponent(badSig));
    }
  });

  it('an unreachable endpoint gives an IoError after the configured tries', async () => {
    const sink = createAzureSink(new URL(`azure://${server.account}/${server.container}?endpoint=${encodeURIComponent('http://127.0.0.1:1/devstoreaccount1')}&maxTries=2`), { credentials: server.credentials });
    await expect(sink.stat('k')).rejects.toMatchObject({ code: ErrorCodes.IO });
  });

  it('a put that fails after several staged blocks commits nothing', async () => {
    const prefix = `fail-${randomUUID()}`;
    const sink = createAzureSink(urlFor(prefix, '&blockSize=1MiB&concurrency=2'), { credentials: server.credentials });
    const source = Readable.from(
      (async function* () {
        for (let i = 0; i < 6; i++) {
          yield randomBytes(1024 * 1024);
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error('producer failed');
      })(),
    );
    await expect(sink.put('chain/file', source)).rejects.toThrow('producer failed');
    const blob = server.containerClient.getBlockBlobClient(`${prefix}/chain/file`);
    expect(await blob.exists()).toBe(false);
    const committed: string[] = [];
    for await (const b of server.containerClient.listBlobsFlat({ prefix })) committed.push(b.name);
    expect(committed).toEqual([]);
    expect(await keysOf(sink, '')).toEqual([]);
  });

  it('two racing puts of one key without overwrite: exactly one wins (conditional commit)', async () => {
    const sink = createAzureSink(urlFor(`race-${randomUUID()}`, '&blockSize=1MiB'), { credentials: server.credentials });
    const a = randomBytes(3 * 1024 * 1024);
    const b = randomBytes(3 * 1024 * 1024);
    const results = await Promise.allSettled([sink.put('k', Readable.from([a])), sink.put('k', Readable.from([b]))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ code: ErrorCodes.DESTINATION_NOT_EMPTY });
    const back = await bytesOf(await sink.get('k'));
    expect(back.equals(a) || back.equals(b)).toBe(true);
  });

  it('uploads in blocks of blockSize, sets the access tier, and reports sizes', async () => {
    const prefix = `tier-${randomUUID()}`;
    const sink = createAzureSink(urlFor(prefix, '&blockSize=1MiB&accessTier=Cool'), { credentials: server.credentials });
    const data = randomBytes(5 * 1024 * 1024 + 17);
    expect(await sink.put('big', Readable.from([data]))).toEqual({ key: 'big', size: data.length });
    const blob = server.containerClient.getBlockBlobClient(`${prefix}/big`);
    const blocks = await blob.getBlockList('committed');
    expect(blocks.committedBlocks?.map((x) => x.size)).toEqual([...Array(5).fill(1024 * 1024), 17]);
    expect((await blob.getProperties()).accessTier).toBe('Cool');
    const listed = [];
    for await (const o of sink.list('')) listed.push(o);
    expect(listed).toMatchObject([{ key: 'big', size: data.length }]);
  });

  it('a range starting past the end yields no bytes; a missing key is NotFound for every read', async () => {
    const sink = createAzureSink(urlFor(`range-${randomUUID()}`), { credentials: server.credentials });
    await sink.put('k', Readable.from([Buffer.from('0123456789')]));
    expect((await bytesOf(await sink.get('k', { start: 8, end: 100 }))).toString()).toBe('89');
    expect((await bytesOf(await sink.get('k', { start: 10 }))).length).toBe(0);
    await expect(sink.get('missing', { start: 3 })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(sink.get('missing')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
  });
});
