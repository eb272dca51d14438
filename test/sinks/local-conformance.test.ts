/** The conformance suite against the local folder sink. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalSink } from '../../src/sinks/local.js';
import { describeSinkConformance } from './conformance/suite.js';

describeSinkConformance('file:// (LocalSink)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pv-sink-conf-'));
  return { sink: new LocalSink(join(dir, 'dest')), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
