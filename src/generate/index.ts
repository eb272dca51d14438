/**
 * generate: realistic, deterministic datasets (`pagevault generate`) and a concurrent
 * writer (`pagevault load`) for tests, demos and benchmarks.
 */
export { generateDataset, GENERATOR_VERSION, DATASET_EPOCH } from './generate.js';
export type { GenerateOptions, GenerateProgress, GenerateResult } from './generate.js';
export { runLoad } from './load.js';
export type { LoadOptions, LoadProgress, LoadResult, LoadMix } from './load.js';
export { PROFILES, profileNames } from './profiles.js';
export type { Profile, CollectionSpec } from './profiles.js';
