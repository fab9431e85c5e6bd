/**
 * An apt repository's package index (`Packages`): stanzas of `Field: value` lines, and Debian's
 * version order, so that the newest build of a package is chosen. Pure.
 */

export interface AptPackage {
  name: string;
  version: string;
  /** Path of the .deb from the repository's root. */
  filename: string;
  size: number;
  sha256: string;
}

/** Every package in the index with what installing it needs; incomplete stanzas are skipped. */
export function parsePackageIndex(text: string): AptPackage[] {
  const packages: AptPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (match?.[1] && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2].trim());
    }
    const [name, version, filename, size, sha256] = [
      'package',
      'version',
      'filename',
      'size',
      'sha256',
    ].map((field) => fields.get(field));
    if (name && version && filename && size && sha256 && /^[0-9a-f]{64}$/.test(sha256)) {
      packages.push({ name, version, filename, size: Number(size), sha256 });
    }
  }
  return packages;
}

/** The newest build of `name` in the index, by Debian's version order. */
export function newestPackage(packages: AptPackage[], name: string): AptPackage | undefined {
  return packages
    .filter((p) => p.name === name)
    .reduce<AptPackage | undefined>(
      (best, p) => (!best || compareDebianVersions(p.version, best.version) > 0 ? p : best),
      undefined,
    );
}

/** Debian's order: epoch, then upstream version, then revision, each compared as dpkg does. */
export function compareDebianVersions(a: string, b: string): number {
  const [ea, ua, ra] = splitVersion(a);
  const [eb, ub, rb] = splitVersion(b);
  return Math.sign(ea - eb) || compareParts(ua, ub) || compareParts(ra, rb);
}

function splitVersion(version: string): [number, string, string] {
  const colon = version.indexOf(':');
  const epoch = colon > 0 ? Number(version.slice(0, colon)) : 0;
  const rest = version.slice(colon + 1);
  const dash = rest.lastIndexOf('-');
  return dash < 0 ? [epoch, rest, ''] : [epoch, rest.slice(0, dash), rest.slice(dash + 1)];
}

/** Alternating non-digit and digit runs; `~` sorts before everything, even the end. */
function compareParts(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const textA = /^[^0-9]*/.exec(a.slice(i))?.[0] ?? '';
    const textB = /^[^0-9]*/.exec(b.slice(j))?.[0] ?? '';
    const byText = compareText(textA, textB);
    if (byText !== 0) return byText;
    i += textA.length;
    j += textB.length;
    const numA = /^[0-9]*/.exec(a.slice(i))?.[0] ?? '';
    const numB = /^[0-9]*/.exec(b.slice(j))?.[0] ?? '';
    const byNumber = Math.sign(Number(numA || 0) - Number(numB || 0));
    if (byNumber !== 0) return byNumber;
    i += numA.length;
    j += numB.length;
  }
  return 0;
}

function compareText(a: string, b: string): number {
  for (let k = 0; k < Math.max(a.length, b.length); k += 1) {
    const diff = order(a[k]) - order(b[k]);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** dpkg's character order: `~` first, then the end of the string, then letters, then the rest. */
function order(char: string | undefined): number {
  if (char === undefined) return 0;
  if (char === '~') return -1;
  if (/[A-Za-z]/.test(char)) return char.charCodeAt(0);
  return char.charCodeAt(0) + 256;
}
