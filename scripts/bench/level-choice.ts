// How the --levels bench judges its levels (levels.ts): pure, so that its unit test runs it alone.

/** The issue's goal: at least 3 × faster than peers' pg_dump -Fc, at no more than its size. */
export const GOAL = { faster: 3, size: 1.0 };
/** The goal is on these three; the regression database's dump is mostly its catalog's queries. */
export const GOAL_DATABASES = ['bench', 'documents', 'packed'];

export interface Sample {
  seconds: number;
  bytes: number;
}

/** Each database's size, its peers' pg_dump -Fc, and each level's pipeline (medians). */
export type Measured = {
  name: string;
  sizeMb: number;
  peers: Sample;
  levels: Record<string, Sample>;
}[];

export const speedUp = (d: Measured[number], key: string): number =>
  d.peers.seconds / (d.levels[key]?.seconds ?? Infinity);
export const sizeRatio = (d: Measured[number], key: string): number =>
  (d.levels[key]?.bytes ?? Infinity) / d.peers.bytes;

/**
 * The fastest level (the highest geometric mean of its speed-ups over peers', so that no one
 * database weighs more) among those no larger than peers' on every database measured.
 */
export function fastestWithinSize(
  databases: Measured,
  levels: readonly string[],
): { level: string; speedUp: number } | undefined {
  const mean = (key: string) =>
    Math.exp(databases.reduce((sum, d) => sum + Math.log(speedUp(d, key)), 0) / databases.length);
  const within = levels.filter((key) => databases.every((d) => sizeRatio(d, key) <= GOAL.size));
  const best = within.sort((a, b) => mean(b) - mean(a))[0];
  return best === undefined ? undefined : { level: best, speedUp: mean(best) };
}
