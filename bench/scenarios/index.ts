/**
 * scenarios: the registry of benchmark scenarios, in the order `--help` lists them.
 * Add a scenario by writing `bench/scenarios/<name>.ts` exporting `scenario` and
 * listing it here.
 */
import type { Scenario } from '../scenario.js';
import { scenario as lmdbCopy } from './lmdb-copy.js';
import { scenario as lmdbCopyCompact } from './lmdb-copy-compact.js';
import { backup as jsonBackup, scenario as jsonExport } from './json-export.js';
import { scenario as jsonRestore } from './json-restore.js';
import { scenario as naiveJsonExport } from './naive-json-export.js';
import { scenario as restic } from './restic.js';
import { scenario as resticRestore } from './restic-restore.js';
import { plain as snapshotFullPlain, scenario as snapshotFull } from './snapshot-full.js';
import { scenario as snapshotIncremental } from './snapshot-incremental.js';
import { scenario as snapshotRestore } from './snapshot-restore.js';
import { scenario as snapshotUnderLoad } from './snapshot-under-load.js';
import { scenario as fanout3 } from './destinations-fanout.js';
import { scenario as restoreFromS3 } from './destinations-restore.js';
import { scenario as s3Upload, sdk as s3UploadSdk } from './destinations-s3-upload.js';

/** SCENARIOS: name → scenario. */
export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map<string, Scenario>(
  [lmdbCopy, lmdbCopyCompact, restic, resticRestore, naiveJsonExport, snapshotFull, snapshotFullPlain, snapshotIncremental, snapshotRestore, snapshotUnderLoad, jsonExport, jsonBackup, jsonRestore, fanout3, s3Upload, s3UploadSdk, restoreFromS3].map((s) => [s.name, s as Scenario]),
);

/** DEFAULT_BASELINE: the floor every table is compared against when it is listed. */
export const DEFAULT_BASELINE = 'lmdb-copy';
