/**
 * checksum: the non-cryptographic checks of the backup file format, xxHash32 for small
 * structural fields (file prefix, frame heads) and xxHash64 for unencrypted frame payloads.
 *
 * Why xxHash64 and not SHA-256 for payloads: measured on this machine (AMD EPYC with
 * SHA-NI, 4 MiB buffers) xxhash-wasm's xxh64 runs at 5.4–7.6 GB/s and node:crypto's
 * SHA-256 at 1.8 GB/s; without SHA-NI SHA-256 drops to roughly 0.4 GB/s. A frame checksum
 * only has to catch accidental damage (an attacker can recompute any unkeyed hash), the
 * whole file is covered by SHA-256 in the trailer anyway, and encrypted frames carry a
 * GCM tag instead. So the cheap hash is the right one here.
 *
 * xxhash-wasm instantiates a WebAssembly module asynchronously, once per thread; callers
 * `await xxhash()` before the first use (the reader and writer do it in `_construct`).
 */
import xxhashWasm, { type XXHashAPI } from 'xxhash-wasm';

let api: XXHashAPI | undefined;
let loading: Promise<XXHashAPI> | undefined;

/** xxhash: the xxhash-wasm API, instantiated once per thread; concurrent callers share one instantiation. */
export function xxhash(): Promise<XXHashAPI> {
  if (api) return Promise.resolve(api);
  loading ??= xxhashWasm().then((loaded) => (api = loaded));
  return loading;
}

/** xxhashSync: the API if `xxhash()` already resolved in this thread; throws otherwise (a programming error). */
export function xxhashSync(): XXHashAPI {
  if (!api) throw new Error('xxhash-wasm is not initialised: await xxhash() first');
  return api;
}

/** xxh32: 32-bit xxHash of `input` with `seed` (an unsigned 32-bit integer). Requires `await xxhash()`. */
export function xxh32(input: Uint8Array, seed: number): number {
  return xxhashSync().h32Raw(input, seed) >>> 0;
}

/**
 * xxh64Parts: 64-bit xxHash of the concatenation of `parts` with `seed`, as 8 big-endian
 * bytes, without concatenating them first. Requires `await xxhash()`.
 */
export function xxh64Parts(parts: readonly Uint8Array[], seed: bigint): Buffer {
  const state = xxhashSync().create64(seed);
  for (const part of parts) state.update(part);
  const out = Buffer.allocUnsafe(8);
  out.writeBigUInt64BE(state.digest());
  return out;
}
