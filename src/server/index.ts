/** server: `pagevault serve` — hosted databases, their tasks and the HTTP API (issue 6). */
export { startServer, serverPaths, DEFAULT_PORT } from './server.js';
export type { ServerOptions, PagevaultServer } from './server.js';
export { createApiKey, revokeApiKey, readApiKeys, apiKeyChecker } from './api-keys.js';
export type { StoredApiKey, ApiKeyChecker } from './api-keys.js';
export { httpStatus } from './routes.js';
