/**
 * Two backups started in the same second, whose random id suffixes sort against their start: the
 * one order of backups (by the manifests' time) must hold wherever backups are compared. Here
 * verify-latest's previous backup (the size it compares with), its cross-store lag, and the copy
 * mode's newest N, each through the bundled action over directory stores.
 *
 * Covers: src/core/ids.ts, src/storage/catalog.ts, src/modes/verify-latest.ts,
 * src/verify/stores.ts, src/modes/copy.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction } from '../support/action.js';
import { forgeBackup, type Forged } from '../support/forge.js';
import { filesUnder } from '../support/listing.js';

const HOUR = 3_600_000;
let work: string;
const store = (label: string) => path.join(work, label);

/** Started at .100 of the second, but its suffix sorts first as a string: ten times the size. */
let earlier: Forged;
/** Started at .900 of the same second: the newest backup, whatever its suffix says. */
let later: Forged;

/** Writes the backups' files into the directory store `label`. */
async function plant(label: string, ...backups: Map<string, Buffer>[]): Promise<void> {
  await mkdir(path.join(store(label), 'shop'), { recursive: true });
  for (const files of backups) {
    for (const [key, bytes] of files) await writeFile(path.join(store(label), key), bytes);
  }
}

let earlierFiles: Map<string, Buffer>;
let laterFiles: Map<string, Buffer>;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'same-second-'));
  const second = Math.floor((Date.now() - HOUR) / 1000) * 1000;
  const first = forgeBackup('shop', new Date(second + 100), 10_000, 'ffffff');
  const last = forgeBackup('shop', new Date(second + 900), 1_000, '000000');
  [earlier, earlierFiles, later, laterFiles] = [first.forged, first.files, last.forged, last.files];
  await plant('primary', earlierFiles, laterFiles);
});

afterAll(() => rm(work, { recursive: true, force: true }));

const verify = (storage: string, inputs: Record<string, string> = {}) =>
  runAction({ mode: 'verify-latest', storage, name: 'shop', deep: 'false', ...inputs });

describe('two backups of one second', () => {
  it('verify-latest compares the newest with the one started before it, not none', async () => {
    const verified = await verify(store('primary'));
    expect(verified.code).not.toBe(0);
    expect(verified.outputs['latest-id']).toBe(later.id);
    expect(lastErrorLine(verified)).toContain('shrank 90% against the previous backup');
    expect(lastErrorLine(verified)).toContain('(9.8 KiB → 1000 B)');
  });

  it('a store holding the later one holds the newest; one holding the earlier lags', async () => {
    await plant('later-only', laterFiles);
    await plant('earlier-only', earlierFiles);
    const stores = [store('primary'), store('later-only'), store('earlier-only')].join('\n');
    const verified = await verify(stores, { 'max-shrink': '100%' });
    expect(verified.code).not.toBe(0);
    expect(lastErrorLine(verified)).toContain(
      `the newest backup ${later.id} is missing in ${store('earlier-only')}`,
    );
    expect(lastErrorLine(verified)).not.toContain(store('later-only'));
    expect(verified.summary).toMatch(
      new RegExp(`\\| ${store('later-only')} \\| ${later.id} \\| .* \\| holds the newest \\|`),
    );
    expect(verified.summary).toMatch(
      new RegExp(`\\| ${store('earlier-only')} \\| ${earlier.id} \\| .* \\| .* behind \\| MISSING`),
    );
  });

  it('copy-last 1 copies the one started last', async () => {
    const copied = await runAction({
      mode: 'copy',
      storage: store('primary'),
      name: 'shop',
      'copy-to': store('copy'),
      'copy-last': '1',
    });
    expect(copied.code, copied.stdout).toBe(0);
    expect(await filesUnder(store('copy'))).toEqual([later.manifestKey, later.objectKey].sort());
  });
});

describe('the trends of two backups of one second', () => {
  it("status's size trend ends at the one started last, and its change is against the earlier", async () => {
    const status = await runAction({ mode: 'status', storage: store('primary'), name: 'shop' });
    // It fails (the verify-latest runs above did), and still shows the set.
    const row = status.summary.split('\n').find((line) => line.includes('Size (trend)')) ?? '';
    expect(row).toContain('1000 B');
    expect(row).not.toContain('9.8 KiB');
    expect(row).toContain('-90%');
  });
});
