// The targets, as ratios within one run, each marked met or missed, with what the
// machine allows: the no-Node references show the least a run can take.
import { timing, type Report, type RunKey, type Target, type TimingRow } from './results.ts';

const ratio = (n: number) => `${n.toFixed(2)}×`;

export function evaluate(r: Report): Target[] {
  const row = (key: RunKey): TimingRow => {
    const found = timing(r, key);
    if (!found) throw new Error(`bench: the results have no "${key}" timing`);
    return found;
  };
  const floor = row('floor');
  const dir = row('dir');
  const dirAge = row('dir-age');
  const targets: Target[] = [];
  const add = (what: string, goal: string, measured: string, met: boolean, bound?: string) =>
    targets.push({ what, goal, measured, met, ...(bound ? { bound } : {}) });
  const bound = speedBound(r, floor);
  add(
    'backup, zstd → directory',
    '≤ 1.25 × floor',
    ratio(dir.ratio),
    dir.ratio <= 1.25,
    bound(1.25),
  );
  add(
    'backup, zstd + age → directory',
    '≤ 1.5 × floor',
    ratio(dirAge.ratio),
    dirAge.ratio <= 1.5,
    [bound(1.5), encryptedReference(timing(r, 'zstd-age-pipe-3'))].filter(Boolean).join('; '),
  );
  const faster = dir.fasterThanCommon ?? Number.NaN;
  add(
    'backup, zstd → directory, against the common script',
    '≥ 5 × faster',
    `${faster.toFixed(1)}× faster`,
    faster >= 5,
    bound(row('common-dir').ratio / 5),
  );
  const sizeVsCommon = dir.sizeVsCommon ?? Number.NaN;
  add(
    'output size, against the common script',
    '≤ +5%',
    `${((sizeVsCommon - 1) * 100).toFixed(1)}%`,
    sizeVsCommon <= 1.05,
  );
  const restore = row('restore-test');
  add(
    'restore-test (download, sha256, zstd -d, restore, row counts)',
    '≤ 1.3 × restore floor',
    ratio(restore.ratio),
    restore.ratio <= 1.3,
    restoreBound(r),
  );
  for (const m of r.memory) {
    const peak = Math.max(m.peakMb, m.peakMbDouble ?? 0);
    const what = m.what.replace('this product: ', '');
    add(`peak memory (RSS), ${what}`, '< 150 MB', `${peak.toFixed(0)} MB`, peak < 150);
    if (m.change !== undefined) {
      const change = `${m.change >= 0 ? '+' : ''}${(m.change * 100).toFixed(0)}%`;
      add(
        `peak memory, ${what}, at twice the size`,
        'within 20%',
        change,
        Math.abs(m.change) <= 0.2,
      );
    }
  }
  for (const q of r.requests) {
    if (!q.minimum) continue;
    add(
      `store requests, ${q.mode.split(' (')[0]}`,
      '≤ 1.1 × minimum',
      `${q.total} of ${q.minimum} (${ratio(q.total / q.minimum)})`,
      q.total <= 1.1 * q.minimum,
    );
  }
  return targets;
}

/**
 * No backup at level 3 can take less than the no-Node reference's CPU time spread perfectly over
 * the cores: it does at least that work (the server's COPY, pg_dump, zstd -3). Nor can the product
 * take less than the reference itself: it runs that same pipeline, and more.
 */
function speedBound(r: Report, floor: TimingRow): (needed: number) => string | undefined {
  const ref = timing(r, 'zstd-pipe-3');
  const cpu = ref?.cpuSeconds;
  if (!ref || !cpu) return () => undefined;
  const least = cpu / r.machine.nproc / floor.seconds;
  return (needed) => {
    // Figures that round alike get a third decimal, so that "out of reach" shows why.
    const alike = [least, ref.ratio].some((n) => n.toFixed(2) === needed.toFixed(2));
    const shown = (n: number) => `${n.toFixed(alike ? 3 : 2)}×`;
    const reference = `zstd -3 with no Node took ${shown(ref.ratio)}; its ${cpu.toFixed(1)} core-seconds need ≥ ${shown(least)} on ${r.machine.nproc} cores`;
    return least > needed || ref.ratio > needed
      ? `out of reach in this run: ${shown(needed)} needed; ${reference}`
      : `${shown(needed)} needed; ${reference}`;
  };
}

/**
 * What the no-Node pipeline into age took: encryption's cost whoever encrypts. Not a bound: its
 * CPU time counts a second pipe that an encrypter inside the compressor would not need.
 */
function encryptedReference(ref: TimingRow | undefined): string | undefined {
  if (!ref?.cpuSeconds) return undefined;
  return `zstd -3 \\| age with no Node took ${ref.ratio.toFixed(2)}× (${ref.cpuSeconds.toFixed(1)} core-seconds)`;
}

/**
 * The least a restore-test can take: the restore floor, after the decompression that pg_restore
 * --jobs must wait for (it reads a whole file), and before the counts and the drop, each alone.
 */
function restoreBound(r: Report): string | undefined {
  const decompress = timing(r, 'restore-decompress');
  const count = timing(r, 'restore-count');
  const drop = timing(r, 'restore-drop');
  if (!decompress || !count || !drop) return undefined;
  const least = 1 + decompress.ratio + count.ratio + drop.ratio;
  const parts = `zstd -d alone ${decompress.seconds.toFixed(2)} s, then the floor, then counting ${count.seconds.toFixed(2)} s and dropping ${drop.seconds.toFixed(2)} s`;
  return least > 1.3
    ? `out of reach in this run: the parts alone take ${least.toFixed(2)}× (${parts})`
    : `the parts alone take ${least.toFixed(2)}× (${parts})`;
}
