/** client: the pagevault server's HTTP API, typed. */
export { PagevaultClient, RemoteError } from './client.js';
export type { ChainListing, RestoreRequest } from './client.js';
