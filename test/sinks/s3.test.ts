/**
 * s3 sink specifics beyond the conformance suite, against a real s3rver on loopback:
 * URL parsing, the storage class reaching the server, what a failed or aborted multipart
 * upload leaves behind, and that credentials never show in `name` or error messages.
 * Requests are observed with a middleware spy on the sink's own client; the server is real.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { createS3Sink, DEFAULT_PART_SIZE, parseS3Url, S3Sink } from '../../src/sinks/s3.js';
import type { SinkCredentials } from '../../src/sinks/open-options.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3-server.js';

let server: S3Server;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
});

function open(query = '', credentials: SinkCredentials = server.credentials): S3Sink {
  const url = new URL(`s3://${server.bucket}/t-${randomUUID()}?endpoint=${encodeURIComponent(server.endpoint)}&forcePathStyle=true${query}`);
  return createS3Sink(url, { credentials }) as S3Sink;
}

interface Seen {
  command: string;
  input: Record<string, unknown>;
  headers: Record<string, string>;
  status?: number;
  output?: Record<string, unknown>;
}

/** spy: records every command the client sends, its request headers and the HTTP status it got. */
function spy(sink: S3Sink): Seen[] {
  const seen: Seen[] = [];
  sink.client.middlewareStack.add(
    (next, context) => async (args) => {
      const entry: Seen = { command: String(context.commandName), input: args.input as Record<string, unknown>, headers: {} };
      seen.push(entry);
      try {
        const out = await next(args);
        entry.status = (out.response as { statusCode?: number }).statusCode;
        entry.output = out.output as unknown as Record<string, unknown>;
        return out;
      } catch (err) {
        entry.status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        throw err;
      }
    },
    { step: 'initialize', name: 'testSpy' },
  );
  sink.client.middlewareStack.add(
    (next, context) => async (args) => {
      const entry = [...seen].reverse().find((s) => s.command === String(context.commandName));
      if (entry) entry.headers = { ...(args.request as { headers: Record<string, string> }).headers };
      return next(args);
    },
    { step: 'finalizeRequest', name: 'testHeaderSpy' },
  );
  return seen;
}

function failingAfter(bytes: number): Readable {
  return Readable.from(
    (async function* () {
      for (let sent = 0; sent < bytes; sent += 1024 * 1024) {
        yield randomBytes(1024 * 1024);
        await new Promise((r) => setImmediate(r));
      }
      throw new Error('producer failed');
    })(),
  );
}

describe('parseS3Url', () => {
  it('reads bucket, prefix, region, endpoint, path style, storage class, part and queue sizes', () => {
    const c = parseS3Url(new URL('s3://my-bucket/a/b/?region=eu-west-3&endpoint=http://127.0.0.1:4568&forcePathStyle=true&storageClass=STANDARD_IA&partSize=8MiB&queueSize=6&maxAttempts=3'));
    expect(c).toMatchObject({ scheme: 's3', bucket: 'my-bucket', prefix: 'a/b/', region: 'eu-west-3', endpoint: 'http://127.0.0.1:4568', forcePathStyle: true, storageClass: 'STANDARD_IA', partSize: 8 * 1024 * 1024, queueSize: 6, maxAttempts: 3 });
  });

  it('defaults: us-east-1, virtual-host style, no prefix, 16 MiB parts (156 GiB max), 4 in flight, 5 attempts', () => {
    const c = parseS3Url(new URL('s3://bucket'));
    expect(c).toMatchObject({ region: 'us-east-1', forcePathStyle: false, prefix: '', partSize: undefined, queueSize: 4, maxAttempts: 5 });
    expect(c.endpoint).toBeUndefined();
    expect(DEFAULT_PART_SIZE * 10_000).toBeGreaterThan(150 * 1024 ** 3);
  });

  it('gs:// is the XML API of Google Cloud Storage: storage.googleapis.com, region auto, path style', () => {
    const c = parseS3Url(new URL('gs://backups/prod'));
    expect(c).toMatchObject({ scheme: 'gs', bucket: 'backups', prefix: 'prod/', region: 'auto', endpoint: 'https://storage.googleapis.com', forcePathStyle: true });
    expect(createS3Sink(new URL('gs://backups/prod'), { credentials: {} }).name).toBe('gs://backups/prod');
  });

  it('accepts every Glacier-capable storage class and refuses others with InvalidArgumentError', () => {
    for (const sc of ['STANDARD', 'STANDARD_IA', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR']) expect(parseS3Url(new URL(`s3://bkt?storageClass=${sc}`)).storageClass).toBe(sc);
    for (const bad of ['s3://bkt?storageClass=glacier', 's3://bkt?storageClass=REDUCED_REDUNDANCY', 's3://bkt?partSize=1MiB', 's3://bkt?partSize=lots', 's3://bkt?queueSize=0', 's3://bkt?forcePathStyle=yes', 's3://bkt?endpoint=ftp://x', 's3://bkt?unknown=1', 's3://bkt/a//c', 's3://b', 'http://b/x']) {
      expect(() => parseS3Url(new URL(bad)), bad).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    }
  });

  it('refuses credentials in the URL without echoing them', () => {
    let message = '';
    try {
      parseS3Url(new URL('s3://AKIASECRETID:verysecretvalue@bucket/x'));
    } catch (err) {
      expect(err).toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      message = (err as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('AKIASECRETID');
    expect(message).not.toContain('verysecretvalue');
  });
});

describe('S3Sink against s3rver', () => {
  it('sends the storage class on single and multipart puts, and the server stores it', async () => {
    const sink = open('&storageClass=STANDARD_IA&partSize=5MiB');
    const seen = spy(sink);
    try {
      await sink.put('small', Readable.from([Buffer.from('x')]));
      await sink.put('large', Readable.from([randomBytes(11 * 1024 * 1024)]));
      const put = seen.find((s) => s.command === 'PutObjectCommand');
      const create = seen.find((s) => s.command === 'CreateMultipartUploadCommand');
      expect(put?.headers['x-amz-storage-class']).toBe('STANDARD_IA');
      expect(create?.headers['x-amz-storage-class']).toBe('STANDARD_IA');
      expect(seen.filter((s) => s.command === 'UploadPartCommand').length).toBe(3);
      for (const key of ['small', 'large']) {
        const h = await sink.client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: sink.config.prefix + key }));
        expect(h.StorageClass).toBe('STANDARD_IA');
      }
    } finally {
      await sink.close();
    }
  });

  it('sends If-None-Match: * unless overwriting', async () => {
    const sink = open();
    const seen = spy(sink);
    try {
      await sink.put('a', Readable.from([Buffer.from('1')]));
      await sink.put('a', Readable.from([Buffer.from('2')]), { overwrite: true });
      const puts = seen.filter((s) => s.command === 'PutObjectCommand');
      expect(puts[0].headers['if-none-match']).toBe('*');
      expect(puts[1].headers['if-none-match']).toBeUndefined();
    } finally {
      await sink.close();
    }
  });

  it('a multipart put whose source fails sends AbortMultipartUpload for its upload, never completes, leaves no object', async () => {
    const sink = open('&partSize=5MiB');
    const seen = spy(sink);
    try {
      await expect(sink.put('broken', failingAfter(16 * 1024 * 1024))).rejects.toThrow(/producer failed/);
      const create = seen.find((s) => s.command === 'CreateMultipartUploadCommand');
      const uploadId = create?.output?.UploadId;
      expect(uploadId).toBeTruthy();
      expect(seen.filter((s) => s.command === 'UploadPartCommand').length).toBeGreaterThanOrEqual(2);
      const abort = seen.filter((s) => s.command === 'AbortMultipartUploadCommand');
      expect(abort.map((s) => s.input.UploadId)).toEqual([uploadId]);
      expect(seen.some((s) => s.command === 'CompleteMultipartUploadCommand')).toBe(false);
      await expect(sink.stat('broken')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
      // s3rver implements neither AbortMultipartUpload nor ListMultipartUploads: it answers
      // the abort with 405 and keeps the parts on disk. Against S3 the abort removes them.
      expect(abort[0].status).toBe(405);
    } finally {
      await sink.close();
    }
  });

  it('an AbortSignal during a multipart put rejects with ABORTED after the upload was aborted', async () => {
    const sink = open('&partSize=5MiB');
    const seen = spy(sink);
    const controller = new AbortController();
    const slow = Readable.from(
      (async function* () {
        for (let i = 0; i < 200; i++) {
          yield randomBytes(512 * 1024);
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
    );
    try {
      const put = sink.put('aborted', slow, { signal: controller.signal });
      // Abort once the multipart upload exists and a part is on its way.
      while (!seen.some((s) => s.command === 'UploadPartCommand')) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      await expect(put).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
      const uploadId = seen.find((s) => s.command === 'CreateMultipartUploadCommand')?.output?.UploadId;
      expect(seen.filter((s) => s.command === 'AbortMultipartUploadCommand').map((s) => s.input.UploadId)).toEqual([uploadId]);
      expect(seen.some((s) => s.command === 'CompleteMultipartUploadCommand')).toBe(false);
      await expect(sink.stat('aborted')).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    } finally {
      await sink.close();
    }
  });

  it('a range starting past the end yields no bytes', async () => {
    const sink = open();
    try {
      await sink.put('r', Readable.from([Buffer.from('abc')]));
      const chunks: Buffer[] = [];
      for await (const c of await sink.get('r', { start: 10 })) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).length).toBe(0);
    } finally {
      await sink.close();
    }
  });

  // s3rver does not verify SigV4 signatures (only that the access key id exists), so a
  // wrong secret alone is accepted there; the rejected case is an unknown key id sent with
  // a secret and a session token, which s3rver answers with 403 InvalidAccessKeyId.
  it('never shows credentials in its name or in the errors of rejected credentials', async () => {
    const cases: SinkCredentials[] = [{ accessKeyId: 'AKIAUNKNOWNKEY123456', secretAccessKey: 'another-secret-0a1b2c3d', sessionToken: 'session-token-zz99yy88' }];
    for (const credentials of cases) {
      const sink = open('&maxAttempts=1', credentials);
      const secrets = [credentials.accessKeyId!, credentials.secretAccessKey!, credentials.sessionToken!];
      try {
        expect(sink.name).toMatch(/^s3:\/\/pagevault-test\/t-/);
        const errors: unknown[] = [];
        await sink.put('x', Readable.from([Buffer.from('x')])).catch((e) => errors.push(e));
        await sink.stat('x').catch((e) => errors.push(e));
        await sink.get('x').catch((e) => errors.push(e));
        await (async () => {
          for await (const _ of sink.list('')) void _;
        })().catch((e) => errors.push(e));
        expect(errors.length).toBe(4);
        for (const err of errors) {
          const text = `${(err as Error).message}\n${(err as Error).stack}\n${sink.name}`;
          for (const s of secrets) expect(text).not.toContain(s);
          expect((err as { code?: string }).code).toBe(ErrorCodes.IO);
          expect((err as Error).message).toMatch(/HTTP 403/);
        }
      } finally {
        await sink.close();
      }
    }
  });
});
