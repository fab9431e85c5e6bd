// Peak memory at twice the size: the same backups, and restore-test, of the grown database.
import { rm } from 'node:fs/promises';
import { log } from './measure.ts';
import type { MemoryRow } from './results.ts';
import { backup, restoreTest, VARIANTS, type Bench } from './runs.ts';

/** Adds each row's peak (and time) on the grown database, and the change from the first size. */
export async function measureAtDouble(bench: Bench, rows: MemoryRow[]): Promise<void> {
  for (const row of rows) {
    const variant = VARIANTS.find((v) => v.key === row.key);
    if (!variant) continue;
    const made = await backup(bench, variant);
    row.peakMbDouble = made.peakMb;
    row.secondsDouble = made.seconds;
    if (variant.key === 'dir') {
      const restore = rows.find((r) => r.key === 'restore-test');
      if (restore) restore.peakMbDouble = (await restoreTest(bench, made.id)).peakMb;
    }
    log(`  ${variant.key} at 2×: ${made.seconds.toFixed(2)} s, peak ${made.peakMb.toFixed(0)} MB`);
  }
  for (const row of rows) {
    if (row.peakMbDouble !== undefined) row.change = row.peakMbDouble / row.peakMb - 1;
  }
  await rm(bench.dirStore, { recursive: true, force: true });
}
