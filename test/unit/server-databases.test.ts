/**
 * Which databases a server backup dumps: the selection applied to what the server has.
 *
 * Covers: src/postgres/server-databases.ts.
 */
import { describe, expect, it } from 'vitest';
import { chooseDatabases } from '../../src/postgres/server-databases.js';
import type { ServerSelection } from '../../src/core/settings.js';

const rows = [
  { datname: 'Crm "Ünï" data', datallowconn: true, connectable: true },
  { datname: 'archive_closed', datallowconn: false, connectable: true },
  { datname: 'postgres', datallowconn: true, connectable: true },
  { datname: 'rdsadmin', datallowconn: true, connectable: false },
  { datname: 'shop', datallowconn: true, connectable: true },
  { datname: 'shop_eu', datallowconn: true, connectable: true },
];

function choose(selection: Partial<ServerSelection>) {
  const warnings: string[] = [];
  const log = { info: () => undefined, warning: (line: string) => warnings.push(line) };
  const chosen = chooseDatabases(
    rows,
    { databases: 'all', exclude: [], globals: 'auto', jobs: 1, ...selection },
    log,
  );
  return { chosen, warnings };
}

describe('chooseDatabases', () => {
  it('all: every database the role can connect to; the others named in a warning', () => {
    expect(choose({})).toEqual({
      chosen: ['Crm "Ünï" data', 'postgres', 'shop', 'shop_eu'],
      warnings: [
        expect.stringMatching(/skipping "archive_closed": does not accept connections/),
        expect.stringMatching(/skipping "rdsadmin": the role has no CONNECT privilege/),
      ],
    });
  });

  it('names and globs, less the exclusions; nothing skipped, no warning', () => {
    expect(choose({ databases: ['shop*', 'Crm*'], exclude: ['*_eu'] })).toEqual({
      chosen: ['Crm "Ünï" data', 'shop'],
      warnings: [],
    });
  });

  it('an entry that matches nothing fails, naming every such entry', () => {
    expect(() => choose({ databases: ['shop', 'billing', 'hr_*'] })).toThrow(
      /databases.*"billing", "hr_\*" matches no database on the server/,
    );
  });

  it('a database asked for by its exact name that cannot be dumped fails; a pattern may skip it', () => {
    expect(() => choose({ databases: ['shop', 'rdsadmin'] })).toThrow(
      /databases.*"rdsadmin" cannot be backed up: the role has no CONNECT privilege on it/,
    );
    expect(() => choose({ databases: ['archive_closed'] })).toThrow(
      /databases.*"archive_closed" cannot be backed up: does not accept connections/,
    );
    expect(choose({ databases: ['shop', 'rds*'] })).toEqual({
      chosen: ['shop'],
      warnings: [expect.stringMatching(/skipping "rdsadmin": the role has no CONNECT privilege/)],
    });
  });

  it('a selection left empty fails', () => {
    expect(() => choose({ databases: ['archive_*'] })).toThrow(
      /databases.*selects no database that accepts connections/,
    );
    expect(() => choose({ databases: ['shop'], exclude: ['shop'] })).toThrow(/selects no database/);
  });
});

describe('a database whose name holds a line break (issue 27, item 9)', () => {
  const odd = [
    { datname: 'cr\rdb', datallowconn: true, connectable: true },
    { datname: 'nl\ndb', datallowconn: true, connectable: true },
    { datname: 'shop', datallowconn: true, connectable: true },
    { datname: 'tab\tdb', datallowconn: true, connectable: true },
  ];
  const choose = (selection: Partial<ServerSelection>) =>
    chooseDatabases(
      odd,
      { databases: 'all', exclude: [], globals: 'auto', jobs: 1, ...selection },
      { info: () => undefined, warning: () => undefined },
    );

  it('fails the backup before any work, naming each printably; other control characters pass', () => {
    let line = '';
    try {
      choose({});
    } catch (error) {
      line = (error as Error).message;
    }
    expect(line).toMatch(/^Input "databases": "cr\\rdb", "nl\\ndb" cannot be backed up: /);
    expect(line).not.toMatch(/[\r\n]/);
    expect(choose({ exclude: ['cr?db', 'nl?db'] })).toEqual(['shop', 'tab\tdb']);
  });
});
