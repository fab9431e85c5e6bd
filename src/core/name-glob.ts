/**
 * Shell-style patterns for database names (`shop_*`, `tenant_??`, `[a-c]*`). Names are not paths:
 * `*` matches any characters, `/` included. A name with no pattern character matches only itself.
 */

const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** True when `pattern` holds `*`, `?` or a `[…]` class. */
export const isGlob = (pattern: string): boolean => /[*?[]/.test(pattern);

export function nameMatcher(pattern: string): (name: string) => boolean {
  if (!isGlob(pattern)) return (name) => name === pattern;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        source += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!') || body.startsWith('^');
      const members = (negated ? body.slice(1) : body).replace(/[\\\]^]/g, '\\$&');
      source += `[${negated ? '^' : ''}${members}]`;
      i = end;
    } else source += escapeRegExp(char);
  }
  const regex = new RegExp(`^${source}$`, 'su');
  return (name) => regex.test(name);
}

/** A pattern that matches `name` alone, whatever characters it holds (`[*]` is a literal `*`). */
export const literalPattern = (name: string): string => name.replace(/[*?[]/g, '[$&]');

/** Why `pattern` cannot be used (a class like `[z-a]` has its range out of order), or undefined. */
export function patternProblem(pattern: string): string | undefined {
  try {
    nameMatcher(pattern);
    return undefined;
  } catch {
    return `"${pattern}" is not a usable pattern: a [...] class with its range out of order, such as [z-a]`;
  }
}

export interface NameSelection {
  /** The names chosen, in the order given. */
  selected: string[];
  /** Include patterns that matched no name at all: each a mistake to report. */
  unmatched: string[];
}

/** The names that some include pattern (or `all`) matches and no exclude pattern does. */
export function selectNames(
  names: readonly string[],
  include: 'all' | readonly string[],
  exclude: readonly string[] = [],
): NameSelection {
  const excluded = exclude.map(nameMatcher);
  const includers = include === 'all' ? [() => true] : include.map(nameMatcher);
  const unmatched =
    include === 'all'
      ? []
      : include.filter((_, index) => !names.some((name) => includers[index]!(name)));
  const selected = names.filter(
    (name) => includers.some((match) => match(name)) && !excluded.some((match) => match(name)),
  );
  return { selected, unmatched };
}
