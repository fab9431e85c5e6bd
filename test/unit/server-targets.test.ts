/**
 * The inputs of restore and restore-test for server backups, decided before any work: checks
 * naming their database, the databases chosen, their targets, and confirm. Pure.
 *
 * Covers: src/restore/targets.ts, src/inputs/checks.ts, src/inputs/restore.ts.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import type { ServerManifest } from '../../src/core/manifest.js';
import type { RestoreSettings, ServerCheck } from '../../src/core/settings.js';
import { parseCheck } from '../../src/inputs/checks.js';
import { readSettings } from '../../src/modes/index.js';
import { checksByDatabase, refuseServerInputs, restoreTargets } from '../../src/restore/targets.js';

const NAMES = ['Crm: "Ü" data', 'app_data', 'shop'];
const manifest = {
  id: '20260101T000000Z-abcdef',
  databases: NAMES.map((name) => ({ name })),
} as unknown as ServerManifest;

const fails = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('did not fail');
};

describe('a check naming its database', () => {
  it('reads `db: check` and the quoted form; a check without one has none', () => {
    expect(parseCheck('crm: public.contacts >= 100')).toMatchObject({
      database: 'crm',
      kind: 'count',
      table: 'public.contacts',
      text: 'crm: public.contacts >= 100',
    });
    expect(parseCheck('a:b: SELECT true')).toMatchObject({ database: 'a:b', sql: 'SELECT true' });
    expect(parseCheck('"Crm: ""Ü"" data": public.t >= 1')).toMatchObject({
      database: 'Crm: "Ü" data',
      table: 'public.t',
    });
    expect(parseCheck("SELECT 'a: SELECT 1' = 'x'")).toMatchObject({ kind: 'sql' });
    expect(parseCheck("SELECT 'a: SELECT 1' = 'x'")?.database).toBeUndefined();
    expect(parseCheck('public.t >= 1')?.database).toBeUndefined();
    expect(parseCheck('crm: DROP TABLE x')).toBeUndefined();
  });

  it('goes to its database; one without a database fails naming it when the backup holds several', () => {
    const checks = ['shop: orders >= 1', '"Crm: ""Ü"" data": SELECT true'].map(
      (line) => parseCheck(line) as ServerCheck,
    );
    const byDatabase = checksByDatabase(manifest, checks);
    expect(byDatabase.get('shop')?.map((c) => c.text)).toEqual(['shop: orders >= 1']);
    expect(byDatabase.get('Crm: "Ü" data')).toHaveLength(1);
    expect(byDatabase.get('app_data')).toEqual([]);
    expect(
      fails(() => checksByDatabase(manifest, [parseCheck('orders >= 1') as ServerCheck])),
    ).toMatch(/^Input "checks": "orders >= 1" names no database, and backup \S+ holds 3; /);
    expect(
      fails(() => checksByDatabase(manifest, [parseCheck('crm: orders >= 1') as ServerCheck])),
    ).toMatch(/names the database "crm", which backup \S+ does not hold/);
    const one = { ...manifest, databases: [{ name: 'shop' }] } as unknown as ServerManifest;
    expect(
      checksByDatabase(one, [parseCheck('orders >= 1') as ServerCheck]).get('shop'),
    ).toHaveLength(1);
  });
});

describe('the databases restore restores, and where', () => {
  const targets = (settings: Partial<RestoreSettings>) =>
    restoreTargets(manifest, { databases: [], targetDatabases: {}, confirm: '', ...settings }).map(
      ({ record, target }) => [record.name, target],
    );

  it('restores all by default, each under its own name; confirm names every target in any order', () => {
    expect(targets({ confirm: `shop\napp_data\n${NAMES[0]}` })).toEqual(
      NAMES.map((name) => [name, name]),
    );
  });

  it('chooses by globs and maps targets; one bare name maps the one database restored', () => {
    expect(
      targets({
        databases: ['shop', 'app_*'],
        targetDatabases: { shop: 'shop_copy' },
        confirm: 'shop_copy\napp_data',
      }),
    ).toEqual([
      ['app_data', 'app_data'],
      ['shop', 'shop_copy'],
    ]);
    expect(
      targets({ databases: ['shop'], targetDatabases: { '': 'other' }, confirm: 'other' }),
    ).toEqual([['shop', 'other']]);
  });

  // Found by the hostile review of issue 27: a clean restore onto template1 dropped the server's
  // own template, which every CREATE DATABASE copies.
  it.each(['template1', 'template0'])('never restores into the server’s own %s', (own) => {
    expect(
      fails(() => targets({ databases: ['shop'], targetDatabases: { '': own }, confirm: own })),
    ).toBe(
      `Input "target-database": "${own}" is one of the server's own templates (template0, template1), which no restore replaces; restore into another database`,
    );
  });

  it('refuses, in one line naming its input, what cannot be meant', () => {
    expect(fails(() => targets({ databases: ['billing_*'] }))).toMatch(
      /^Input "databases": "billing_\*" matches no database of backup \S+, which holds /,
    );
    expect(fails(() => targets({ targetDatabases: { '': 'x' } }))).toMatch(
      /^Input "target-database": one name maps one database, but 3 are restored/,
    );
    expect(fails(() => targets({ databases: ['shop'], targetDatabases: { crm: 'x' } }))).toMatch(
      /^Input "target-database": "crm" is not among the databases restored/,
    );
    expect(
      fails(() =>
        targets({ databases: ['shop', 'app_data'], targetDatabases: { shop: 'app_data' } }),
      ),
    ).toMatch(
      /^Input "target-database": "app_data", "shop" would both be restored into "app_data"/,
    );
    for (const confirm of ['shop', `shop\napp_data\n${NAMES[0]}\nextra`, '', 'shop, app_data']) {
      expect(fails(() => targets({ confirm }))).toBe(
        `Input "confirm": must name every target database (one per line, or separated by commas) and no other: ${NAMES[0]}, app_data, shop`,
      );
    }
  });

  it('takes confirm on one line, names separated by commas (a workflow_dispatch box)', () => {
    const all = targets({ confirm: `shop\napp_data\n${NAMES[0]}` });
    expect(targets({ confirm: `shop, app_data,${NAMES[0]}` })).toEqual(all);
  });

  it('refuses the server inputs for a backup of one database', () => {
    expect(
      fails(() => refuseServerInputs({ databases: ['x'], restoreGlobals: false }, [], 'shop')),
    ).toBe(
      'Input "databases": applies to a server backup (databases); this backup is of one database',
    );
    expect(fails(() => refuseServerInputs({ restoreGlobals: true }, [], 'shop'))).toMatch(
      /^Input "restore-globals"/,
    );
    expect(
      fails(() =>
        refuseServerInputs(
          { restoreGlobals: false },
          [parseCheck('crm: t >= 1') as ServerCheck],
          'shop',
        ),
      ),
    ).toMatch(
      /^Input "checks": "crm: t >= 1" names a database, but this backup is of one database \(shop\)/,
    );
    expect(() =>
      refuseServerInputs(
        { restoreGlobals: false },
        [parseCheck('shop: t >= 1') as ServerCheck],
        'shop',
      ),
    ).not.toThrow();
  });
});

describe('the inputs', () => {
  const read = (inputs: Record<string, string>) =>
    readSettings((name: string) => inputs[name] ?? '', '/work');
  const DB = 'postgres://u:p@db.example.com/postgres';

  it('reads databases, target-database and restore-globals, and leaves confirm to the mode', async () => {
    const settings = (await read({
      mode: 'restore',
      storage: '/b',
      name: 'srv',
      'database-url': DB,
      databases: 'shop\napp_*',
      'target-database': 'shop = shop_copy',
      'restore-globals': 'true',
      confirm: 'shop_copy\napp_data',
    })) as RestoreSettings;
    expect(settings).toMatchObject({
      databases: ['shop', 'app_*'],
      targetDatabases: { shop: 'shop_copy' },
      restoreGlobals: true,
      confirm: 'shop_copy\napp_data',
    });
    const all = (await read({
      mode: 'restore',
      storage: '/b',
      name: 'srv',
      'database-url': DB,
      databases: 'all',
      confirm: 'x',
    })) as RestoreSettings;
    expect(all).toMatchObject({ into: 'database', databases: [] });
    await expect(
      read({
        mode: 'restore',
        storage: '/b',
        name: 'srv',
        'database-url': DB,
        'target-database': 'a\nb',
        confirm: 'x',
      }),
    ).rejects.toThrow(/^Input "target-database": "a" has no "="/);
    await expect(
      read({
        mode: 'restore-test',
        storage: '/b',
        name: 'srv',
        'database-url': DB,
        'restore-globals': 'maybe',
      }),
    ).rejects.toThrow(/^Input "restore-globals": "maybe" is not accepted; use true or false$/);
  });
});

describe('a backup made before database names with a line break were refused (issue 27, item 9)', () => {
  const held = {
    ...manifest,
    databases: [{ name: 'app_data' }, { name: 'nl\ndb' }, { name: 'shop' }],
  } as unknown as ServerManifest;
  const targets = (settings: Partial<RestoreSettings>) =>
    restoreTargets(held, { databases: [], targetDatabases: {}, confirm: '', ...settings });

  it('restore refuses that database before any work, naming it printably; the others restore', () => {
    const line = fails(() => targets({ confirm: 'app_data,nl\ndb,shop' }));
    expect(line).toMatch(/^Input "databases": "nl\\ndb" of backup \S+ cannot be restored: /);
    expect(line).toContain('database name contains a newline or carriage return');
    expect(line).not.toMatch(/[\r\n]/);
    expect(
      targets({ databases: ['app_data', 'shop'], confirm: 'app_data,shop' }).map(
        ({ record }) => record.name,
      ),
    ).toEqual(['app_data', 'shop']);
  });
});
