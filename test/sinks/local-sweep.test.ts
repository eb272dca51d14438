/**
 * LocalSink.sweepAbandoned: the partial file of a put whose process on this machine died (its
 * pid and host are in the name; older versions wrote the pid only) is removed; one of a live
 * process, of this process, of another machine or without a pid is kept; none is ever listed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HOST_TAG } from '../../src/sinks/in-progress.js';
import { LocalSink } from '../../src/sinks/local.js';
import { useTmpEnv } from '../helpers/tmp-env.js';

const ctx = useTmpEnv();

describe('LocalSink.sweepAbandoned', () => {
  it('removes only the partial files of dead processes', async () => {
    const sink = new LocalSink(ctx.dir);
    await sink.put('chain/done', Readable.from([Buffer.from('whole')]));
    // A pid that surely belonged to a process that has exited: a child we ran to completion.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    mkdirSync(join(ctx.dir, 'chain'), { recursive: true });
    const files = {
      dead: join(ctx.dir, 'chain', `file-a.${dead}@${HOST_TAG}.in-progress`),
      deadLegacy: join(ctx.dir, 'chain', `file-e.${dead}.in-progress`), // an older pagevault's name: pid only
      otherHost: join(ctx.dir, 'chain', `file-f.${dead}@another-host.in-progress`),
      mine: join(ctx.dir, 'chain', `file-b.${process.pid}@${HOST_TAG}.in-progress`),
      live: join(ctx.dir, 'chain', `file-c.1@${HOST_TAG}.in-progress`),
      old: join(ctx.dir, 'chain', 'file-d.in-progress'),
    };
    for (const f of Object.values(files)) writeFileSync(f, 'partial');
    const listed: string[] = [];
    for await (const o of sink.list('')) listed.push(o.key);
    expect(listed).toEqual(['chain/done']);

    expect((await sink.sweepAbandoned()).sort()).toEqual([`chain/file-a.${dead}@${HOST_TAG}.in-progress`, `chain/file-e.${dead}.in-progress`]);
    expect(existsSync(files.dead)).toBe(false);
    expect(existsSync(files.deadLegacy)).toBe(false);
    for (const f of [files.otherHost, files.mine, files.live, files.old]) expect(existsSync(f)).toBe(true);
    expect(await sink.sweepAbandoned()).toEqual([]);
  });
});
