/**
 * The pure parts of installing a client: the apt index, Debian's version order, cache versions.
 *
 * Covers: src/postgres/client/apt-index.ts, src/postgres/client/install.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  compareDebianVersions,
  newestPackage,
  parsePackageIndex,
} from '../../src/postgres/client/apt-index.js';
import { cacheVersion } from '../../src/postgres/client/install.js';

const SUM = 'ab'.repeat(32);
const INDEX = `Package: libpq5
Version: 17.2-1.pgdg120+1
Architecture: amd64
Filename: pool/main/p/postgresql-17/libpq5_17.2-1.pgdg120+1_amd64.deb
Size: 225080
SHA256: ${SUM}

Package: libpq5
Version: 17.10-1.pgdg120+1
Filename: pool/main/p/postgresql-17/libpq5_17.10-1.pgdg120+1_amd64.deb
Size: 225100
SHA256: ${SUM}
Description: multi-line
 descriptions continue on indented lines

Package: postgresql-client-17
Version: 17.10-1.pgdg120+1
Filename: pool/main/p/postgresql-17/postgresql-client-17_17.10-1.pgdg120+1_amd64.deb
Size: 2000000

Package: postgresql-client-16
Version: 16.6-1.pgdg120+1
Filename: pool/main/p/postgresql-16/postgresql-client-16_16.6-1.pgdg120+1_amd64.deb
Size: 1900000
SHA256: not-a-sum
`;

describe('the package index', () => {
  const packages = parsePackageIndex(INDEX);

  it('keeps only stanzas with a file, a size and a SHA256', () => {
    expect(packages.map((p) => `${p.name} ${p.version}`)).toEqual([
      'libpq5 17.2-1.pgdg120+1',
      'libpq5 17.10-1.pgdg120+1',
    ]);
    expect(packages[1]).toMatchObject({ size: 225100, sha256: SUM });
  });

  it('chooses the newest build by Debian’s order, not by text', () => {
    expect(newestPackage(packages, 'libpq5')?.version).toBe('17.10-1.pgdg120+1');
    expect(newestPackage(packages, 'postgresql-client-18')).toBeUndefined();
  });
});

describe('Debian version order', () => {
  it.each([
    ['15.18-0+deb12u1', '15.8-0+deb12u1', 1],
    ['17.2-1.pgdg120+1', '17.2-1.pgdg120+2', -1],
    ['1:15.0-1', '16.0-1', 1],
    ['18~beta1-1', '18-1', -1],
    ['18.0-1', '18.0-1', 0],
    ['2.0a-1', '2.0-1', 1],
  ] as const)('%s against %s is %i', (a, b, expected) => {
    expect(compareDebianVersions(a, b)).toBe(expected);
    expect(compareDebianVersions(b, a)).toBe(-expected || 0);
  });
});

describe('tool-cache versions', () => {
  it.each([
    ['15.18-0+deb12u1', '15.18.0-0.deb12u1'],
    ['17.2-1.pgdg120+1', '17.2.0-1.pgdg120.1'],
    ['1:16.4-1', '16.4.0-1'],
    ['18', '18.0.0'],
  ])('%s → %s', (debian, semver) => {
    expect(cacheVersion(debian)).toBe(semver);
  });
});
