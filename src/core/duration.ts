/** Parsing of the duration inputs (`max-age`, `keep-within`, `orphan-grace`). Pure. */

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** What every duration input accepts, for error messages. */
export const DURATION_HELP = 'a duration such as 90s, 45m, 26h, 7d, 2w or 1d12h';

/**
 * Parses `90s`, `45m`, `26h`, `7d`, `2w` and combinations such as `1d12h` into milliseconds.
 * Units must appear from largest to smallest, once each, so `12h1d` is refused as a likely typo.
 * Returns undefined for anything else, so the caller can name the input in its message.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (!/^(\d+[wdhms])+$/.test(trimmed)) return undefined;
  let total = 0;
  let lastUnitMs = Infinity;
  for (const [, digits, unit] of trimmed.matchAll(/(\d+)([wdhms])/g)) {
    const unitMs = UNIT_MS[unit ?? ''] ?? 0;
    if (unitMs >= lastUnitMs) return undefined;
    lastUnitMs = unitMs;
    total += Number(digits) * unitMs;
  }
  return Number.isSafeInteger(total) && total > 0 ? total : undefined;
}

/** Renders milliseconds the way a person reads an age: `2d 3h`, `45m`, `12s`. */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms / 1000));
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.slice(0, 2).join(' ');
}
