/**
 * retention-run: apply a task's retention policy on its destinations (issue 6,
 * "Retention": whole chains, on every destination, during the next scheduled backup).
 * The decision is the pure `applyRetention`; this module only lists chains and removes
 * the ones it marks. A chain is removed manifest first, so a removal cut short leaves
 * files that no longer form a chain (restore and listing ignore them) rather than a
 * chain with missing files; the next run removes the leftovers.
 */
import { listAllChains, readManifest } from '../backup/chain-store.js';
import { safeDatabaseName, MANIFEST_NAME, parseChainFolderName } from '../backup/naming.js';
import { applyRetention, type ChainSummary, type RetentionDecision, type RetentionPolicy } from '../retention/index.js';
import type { Sink } from '../sinks/sink.js';

/** RetentionRun: what one destination's retention pass did. */
export interface RetentionRun {
  decisions: RetentionDecision[];
  removed: string[];
}

/** chainSummaries: every chain of `database` and `type` on `sink`, as retention sees it. */
export async function chainSummaries(sink: Sink, database: string, type: 'snapshot' | 'backup'): Promise<ChainSummary[]> {
  const name = safeDatabaseName(database);
  const out: ChainSummary[] = [];
  for (const ref of await listAllChains(sink)) {
    if (ref.database !== name || ref.type !== type) continue;
    try {
      const m = await readManifest(sink, ref.folder);
      out.push({ folder: ref.folder, database: name, type, files: m.files.map((f) => ({ name: f.name, created: f.created, kind: f.kind })), manual: m.manual === true, complete: true });
    } catch {
      // An unreadable manifest: keep it (retention rule 3: no files means unknown age).
      out.push({ folder: ref.folder, database: name, type, files: [], complete: false });
    }
  }
  return out;
}

/** removeChain: delete a chain folder's manifest, then every other object under it. */
export async function removeChain(sink: Sink, folder: string): Promise<void> {
  await sink.remove(`${folder}/${MANIFEST_NAME}`);
  const keys: string[] = [];
  for await (const obj of sink.list(`${folder}/`)) keys.push(obj.key);
  for (const key of keys) await sink.remove(key);
}

/** applyRetentionOn: decide and remove on one destination. */
export async function applyRetentionOn(sink: Sink, database: string, type: 'snapshot' | 'backup', policy: RetentionPolicy, now: Date): Promise<RetentionRun> {
  const chains = await chainSummaries(sink, database, type);
  const decisions = applyRetention(chains, policy, now);
  const removed: string[] = [];
  for (const d of decisions) {
    if (d.action !== 'remove' || !parseChainFolderName(d.folder.slice(d.folder.lastIndexOf('/') + 1))) continue;
    await removeChain(sink, d.folder);
    removed.push(d.folder);
  }
  return { decisions, removed };
}
