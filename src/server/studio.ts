/**
 * studio: serves the Studio (the Backups view, `studio/` in the package) at `/studio/`.
 * Plain files — HTML, ES modules, CSS — with no build step, so it ships as it is in the
 * package and works offline. The files hold no data: everything they show comes from the
 * HTTP API with the key the user enters, so they are served without a key.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** STUDIO_DIR: the Studio's files (package root `studio/`; this file is dist/src/server/studio.js). */
export const STUDIO_DIR = fileURLToPath(new URL('../../../studio/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** isStudioUrl: true for the Studio's own files (served without an API key). */
export function isStudioUrl(url: string): boolean {
  return url === '/studio' || url.startsWith('/studio/') || url.startsWith('/studio?');
}

/** registerStudio: GET /studio/… from STUDIO_DIR (index.html for the folder). */
export function registerStudio(app: FastifyInstance, dir = STUDIO_DIR): void {
  app.get('/studio', async (_req, reply) => reply.redirect('/studio/'));
  app.get('/studio/*', async (req, reply) => {
    const rel = decodeURIComponent((req.params as { '*': string })['*'] || 'index.html');
    const path = normalize(join(dir, rel));
    if (!path.startsWith(dir.endsWith(sep) ? dir : dir + sep) || !TYPES[extname(path)]) {
      return reply.status(404).send({ error: { code: 'PAGEVAULT_ERR_NOT_FOUND', message: `no Studio file ${rel}` } });
    }
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      return reply.status(404).send({ error: { code: 'PAGEVAULT_ERR_NOT_FOUND', message: `no Studio file ${rel}` } });
    }
    return reply
      .header('content-type', TYPES[extname(path)])
      .header('cache-control', 'no-cache')
      // The Studio loads only its own files and talks only to this server.
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
      .send(body);
  });
}
