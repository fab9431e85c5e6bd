/**
 * fleet.yml's `sets` as its first job checks them (status with `sets` alone): one line naming the
 * input, the set and the field for each kind of mistake (JSON, not a list, two sets of one name,
 * a name outside the set syntax, an unknown field, a field of the wrong type, a secret's name
 * GitHub would refuse, more sets than GitHub's matrix runs), and the matrix given back with each
 * value of the type nightly.yml takes (a keep-* of 0 stays 0, not "absent").
 *
 * Every field and secret fleet.yml's legs read is one the check accepts (signing-public-key and
 * SIGNING_KEY were read but refused when signing arrived after the check).
 *
 * Covers: src/inputs/fleet-sets.ts, src/inputs/status.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import type { StatusSettings } from '../../src/core/settings.js';
import {
  FLEET_FIELDS,
  FLEET_SECRETS,
  MAX_MATRIX_JOBS,
  readFleetSets,
} from '../../src/inputs/fleet-sets.js';
import { readSettings } from '../../src/modes/index.js';

const set = (name: string, more: Record<string, unknown> = {}) => ({
  name,
  storage: 's3://b/p',
  ...more,
});
const refusal = (value: unknown) => {
  try {
    readFleetSets(typeof value === 'string' ? value : JSON.stringify(value));
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('a bad sets input is one line naming it, the set and the field', () => {
  it.each([
    ['not JSON', '[{"name": "shop"', /^Input "sets": is not valid JSON; use a JSON list/],
    ['an object', { name: 'shop' }, /^Input "sets": is not a non-empty JSON list/],
    ['an empty list', [], /^Input "sets": is not a non-empty JSON list/],
    [
      'a set that is not an object',
      [set('shop'), 'crm'],
      /^Input "sets": item 2 is not an object$/,
    ],
    [
      'two sets of one name',
      [set('shop'), set('crm'), set('shop', { storage: 's3://other/p' })],
      /^Input "sets": names the set "shop" twice; each set needs a name of its own/,
    ],
    [
      'a name outside the set syntax',
      [set('shop'), set('../crm')],
      /^Input "sets": item 2 has no name of one path segment of \[a-z0-9._-\]/,
    ],
    ['an upper-case name', [set('Shop')], /^Input "sets": item 1 has no name/],
    ['no name', [{ storage: 's3://b/p' }], /^Input "sets": item 1 has no name/],
    ['no storage', [{ name: 'shop' }], /^Input "sets": set "shop" has no storage/],
    [
      'a blank storage',
      [set('shop', { storage: ' ' })],
      /^Input "sets": set "shop" has no storage/,
    ],
    [
      'a mistyped field',
      [set('shop', { 'keep-dayly': '7' })],
      /^Input "sets": set "shop" has the field "keep-dayly", which a set does not take; a set takes name, storage, /,
    ],
    [
      'a hostile field name',
      [set('shop', { 'x\n::error::forged': 1, __proto__x: 1 })],
      /^Input "sets": set "shop" has the field "x\\n::error::forged", which/,
    ],
    [
      'a number for text',
      [set('shop', { 'postgres-version': 17 })],
      /^Input "sets": set "shop": postgres-version must be a string$/,
    ],
    [
      'a negative keep',
      [set('shop', { 'keep-daily': -1 })],
      /^Input "sets": set "shop": keep-daily must be a whole number, 0 or more$/,
    ],
    [
      'a fraction of a keep',
      [set('shop', { 'keep-weekly': '1.5' })],
      /^Input "sets": set "shop": keep-weekly must be a whole number/,
    ],
    [
      'no minutes',
      [set('shop', { 'timeout-minutes': 0 })],
      /^Input "sets": set "shop": timeout-minutes must be a whole number of minutes, 1 or more$/,
    ],
    [
      'a text for a flag',
      [set('shop', { 'restore-globals': 'false' })],
      /^Input "sets": set "shop": restore-globals must be true or false$/,
    ],
    [
      'an empty runner',
      [set('shop', { 'runs-on': [] })],
      /^Input "sets": set "shop": runs-on must be a runner label, a list of labels or a group$/,
    ],
    [
      'a secret nightly.yml does not take',
      [set('shop', { secrets: { SLACK_WEBHOOK_URL: 'X' } })],
      /^Input "sets": set "shop": secrets must be an object naming, for any of DATABASE_URL, /,
    ],
    [
      "a secret's name GitHub refuses",
      [set('shop', { secrets: { DATABASE_URL: 'GITHUB_TOKEN' } })],
      /^Input "sets": set "shop": secrets must be for DATABASE_URL a secret's name/,
    ],
    [
      "an expression for a secret's name",
      [set('shop', { secrets: { DATABASE_URL: '${{ github.token }}' } })],
      /^Input "sets": set "shop": secrets must be for DATABASE_URL a secret's name/,
    ],
  ])('%s', (_what, value, line) => {
    const message = refusal(value);
    expect(message).toMatch(line);
    expect(message).not.toContain('\n');
  });
});

describe("GitHub's matrix limit", () => {
  // docs.github.com, "Workflow syntax for GitHub Actions", jobs.<job_id>.strategy.matrix: "A
  // matrix will generate a maximum of 256 jobs per workflow run."
  const fleet = (count: number) =>
    JSON.stringify(Array.from({ length: count }, (_, i) => set(`db${i}`)));

  it('takes 256 sets, and refuses 257 naming the limit', () => {
    expect(MAX_MATRIX_JOBS).toBe(256);
    expect(readFleetSets(fleet(256))).toHaveLength(256);
    expect(refusal(fleet(257))).toBe(
      'Input "sets": holds 257 sets; a GitHub matrix runs at most 256 jobs per workflow run: split the fleet between callers',
    );
  });
});

describe('the matrix given back', () => {
  it('holds each set as nightly.yml takes it', () => {
    const sets = readFleetSets(
      JSON.stringify([
        set('shop', {
          'keep-daily': 0,
          'keep-weekly': '8',
          'timeout-minutes': '90',
          'restore-globals': false,
          'runs-on': ['self-hosted', 'db-network'],
          secrets: { DATABASE_URL: 'SHOP_DATABASE_URL' },
        }),
        set('crm', { 'runs-on': { group: 'db' } }),
      ]),
    );
    expect(sets).toEqual([
      {
        name: 'shop',
        storage: 's3://b/p',
        // As text: a 0 read by `matrix.set.keep-daily || '14'` would be the default 14.
        'keep-daily': '0',
        'keep-weekly': '8',
        'timeout-minutes': 90,
        'restore-globals': false,
        'runs-on': '["self-hosted","db-network"]',
        secrets: { DATABASE_URL: 'SHOP_DATABASE_URL' },
      },
      { name: 'crm', storage: 's3://b/p', 'runs-on': '{"group":"db"}' },
    ]);
  });

  it('is what status reads from sets alone; with status-reports it takes the names', async () => {
    const text = JSON.stringify([set('shop'), set('crm')]);
    const read = (values: Record<string, string>) =>
      readSettings((name) => values[name] ?? '', '/work') as Promise<StatusSettings>;
    const alone = await read({ mode: 'status', sets: text });
    expect(alone.source).toEqual({ kind: 'sets', sets: [set('shop'), set('crm')] });
    const reports = await read({ mode: 'status', sets: text, 'status-reports': 'reports' });
    expect(reports.source).toEqual({
      kind: 'reports',
      folder: '/work/reports',
      sets: ['shop', 'crm'],
    });
    await expect(read({ mode: 'status', sets: text, storage: '/srv/b' })).rejects.toThrow(
      /^Input "sets": reads the fleet's sets, not a store: leave storage empty/,
    );
    const twice = JSON.stringify([set('a'), set('a')]);
    await expect(read({ mode: 'status', sets: twice, 'status-reports': 'r' })).rejects.toThrow(
      /^Input "sets": names the set "a" twice/,
    );
  });
});

describe("fleet.yml's legs and the check", () => {
  const workflow = readFileSync('.github/workflows/fleet.yml', 'utf8');
  const read = (pattern: RegExp) => [
    ...new Set([...workflow.matchAll(pattern)].map((m) => m[1] ?? '')),
  ];

  it('reads no field of a set that the check refuses, and the check takes each one read', () => {
    const fields = read(/matrix\.set\.([a-z0-9-]+)/g).filter((field) => field !== 'secrets');
    expect(fields).toEqual(expect.arrayContaining(['storage', 'signing-public-key']));
    expect(FLEET_FIELDS).toEqual(expect.arrayContaining([...fields, 'secrets']));
    for (const field of fields.filter((one) => one !== 'name')) {
      const value = /^keep-/.test(field) ? 1 : field === 'restore-globals' ? true : 'x';
      const given = field === 'timeout-minutes' ? 30 : value;
      expect(
        () => readFleetSets(JSON.stringify([set('a', { [field]: given })])),
        field,
      ).not.toThrow();
    }
  });

  it('names no secret of a set that the check refuses, and the check takes each one named', () => {
    const secrets = read(/matrix\.set\.secrets\.([A-Z_]+)/g);
    expect(secrets).toEqual(expect.arrayContaining(['DATABASE_URL', 'SIGNING_KEY']));
    expect([...FLEET_SECRETS].sort()).toEqual([...secrets].sort());
  });
});
