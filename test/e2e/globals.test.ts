/**
 * restore-globals: real `pg_dumpall --globals-only` output (from this machine's client and, when
 * present, PostgreSQL 18's, which writes \restrict lines) split and classified, hostile names and
 * comments included; then applied to a second, empty cluster, and its roles dropped again.
 *
 * Covers: src/restore/globals-sql.ts, src/restore/globals-plan.ts, src/restore/globals.ts.
 */
import { execFileSync } from 'node:child_process';
import { chown, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, withClient, type PgCluster } from '../../scripts/lib/pg-cluster.js';
import { readDatabaseUrl } from '../../src/inputs/database.js';
import { Inputs } from '../../src/inputs/reader.js';
import { planGlobals } from '../../src/restore/globals-plan.js';
import { classify, globalStatements, type GlobalStatement } from '../../src/restore/globals-sql.js';
import { applyGlobals, applyInDatabase, dropRoles } from '../../src/restore/globals.js';
import type { Logger } from '../../src/core/types.js';
import { pg18Client } from '../support/pg18.js';
import { requireInCI } from '../support/require-in-ci.js';

const parseDatabaseUrl = (url: string) =>
  readDatabaseUrl(new Inputs(() => url), 'database-url').target;

const HOSTILE = 'a"; DROP ROLE x; --';
const COMMENT = `it's; a\nnewline -- and "q" \\ back`;
const pg18 = pg18Client();

let source: PgCluster;
let target: PgCluster;
/** The source's globals as this machine's pg_dumpall writes them. */
let script: string;

/** `pg_dumpall --globals-only` of the source, by the client in `bin`. */
const dumpall = (bin: string) =>
  execFileSync(path.join(bin, 'pg_dumpall'), ['--globals-only', `--dbname=${source.url}`], {
    encoding: 'utf8',
  });

beforeAll(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  await withClient(source.url, async (client) => {
    await client.query(`CREATE ROLE app_owner LOGIN PASSWORD 'owner-secret'`);
    await client.query(`CREATE ROLE app_reader`);
    await client.query(`CREATE ROLE "${HOSTILE.replace(/"/g, '""')}"`);
    await client.query(`CREATE ROLE "Übung Rolle"`);
    await client.query(`COMMENT ON ROLE app_reader IS '${COMMENT.replace(/'/g, "''")}'`);
    await client.query(`GRANT app_reader TO app_owner`);
    await client.query(`GRANT app_reader TO postgres`);
    await client.query(`ALTER ROLE app_reader SET work_mem = '8MB'`);
    await client.query(`GRANT SET ON PARAMETER work_mem TO app_owner`);
  });
  await withClient(target.url, (client) => client.query(`CREATE ROLE app_reader`));
  script = dumpall(source.bindir);
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

const roleNames = (statements: GlobalStatement[]) =>
  statements.flatMap((s) => (s.kind === 'role' && s.create ? [s.role] : []));

/** What any pg_dumpall's globals of the source must read as: every role, comment and membership. */
function expectEveryRole(globals: string): void {
  const statements = globalStatements(globals);
  expect(roleNames(statements).sort()).toEqual(
    ['app_owner', 'app_reader', HOSTILE, 'postgres', 'Übung Rolle'].sort(),
  );
  // Nothing of psql's meta-commands, nothing split inside the comment or the hostile name.
  expect(statements.some((s) => s.sql.includes('\\restrict'))).toBe(false);
  expect(statements.filter((s) => s.kind === 'other')).toEqual([]);
  const comment = statements.find((s) => s.kind === 'role' && /^COMMENT/.test(s.sql));
  expect(comment).toMatchObject({ kind: 'role', role: 'app_reader' });
  expect(comment?.sql).toContain('newline -- and "q"');
  const hostile = statements.filter((s) => s.kind === 'role' && s.role === HOSTILE);
  expect(hostile.map((s) => s.sql.split(' ')[0])).toEqual(['CREATE', 'ALTER']);
  const memberships = statements.filter((s) => s.kind === 'membership');
  expect(memberships).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ granted: ['app_reader'], members: ['app_owner'] }),
      expect.objectContaining({ granted: ['app_reader'], members: ['postgres'] }),
    ]),
  );
  expect(memberships.every((s) => !/GRANTED BY/i.test(s.sql))).toBe(true);
  expect(statements).toContainEqual(
    expect.objectContaining({ kind: 'role-privilege', roles: ['app_owner'] }),
  );
}

describe('the globals script, split and classified', () => {
  it('reads this machine’s pg_dumpall output: every role, comment and membership', () => {
    expectEveryRole(script);
    // Its memberships name their grantor (18's leaves out the bootstrap superuser's).
    const grantors = globalStatements(script).flatMap((s) =>
      s.kind === 'membership' ? [s.grantor] : [],
    );
    expect(grantors).toEqual(['postgres', 'postgres']);
  });

  describe.skipIf(requireInCI(pg18.missing))('of PostgreSQL 18', () => {
    it('reads pg_dumpall 18 output, \\restrict lines and all: every role, comment and membership', () => {
      const eighteen = dumpall(pg18.clientBin);
      expect(eighteen).toMatch(/^\\restrict /m);
      expectEveryRole(eighteen);
    });
  });

  it('reads a membership’s grantor apart, never part of a member whose name holds GRANTED BY', () => {
    expect(classify('GRANT a TO b WITH ADMIN OPTION GRANTED BY "Ops ""x"" Tëam"')).toMatchObject({
      kind: 'membership',
      sql: 'GRANT "a" TO "b" WITH ADMIN OPTION',
      grantor: 'Ops "x" Tëam',
    });
    expect(classify('GRANT a TO "m GRANTED BY z"')).toMatchObject({
      kind: 'membership',
      members: ['m GRANTED BY z'],
      sql: 'GRANT "a" TO "m GRANTED BY z"',
    });
    expect(classify('GRANT a TO b WITH INHERIT TRUE, SET FALSE GRANTED BY postgres')).toMatchObject(
      { sql: 'GRANT "a" TO "b" WITH INHERIT TRUE, SET FALSE', grantor: 'postgres' },
    );
  });

  it('reads CURRENT_USER, SESSION_USER, CURRENT_ROLE, ALL, PUBLIC and NONE, in any case, as no role; a quoted one is a role', () => {
    for (const word of ['CURRENT_USER', 'session_user', 'Current_Role', 'all', 'PUBLIC', 'none']) {
      for (const sql of [
        `ALTER ROLE ${word} WITH PASSWORD 'x'`,
        `ALTER ROLE ${word} SET work_mem = '1MB'`,
        `ALTER ROLE ${word} IN DATABASE d SET work_mem = '1MB'`,
        `COMMENT ON ROLE ${word} IS 'x'`,
        `GRANT ${word} TO app`,
        `GRANT app TO ${word}`,
        `GRANT app TO b GRANTED BY ${word}`,
        `CREATE ROLE ${word}`,
      ]) {
        expect(classify(sql), sql).toMatchObject({
          kind: 'other',
          reason: expect.stringContaining(`${word.toUpperCase()} is not the name`),
        });
      }
    }
    expect(classify(`ALTER ROLE "CURRENT_USER" WITH LOGIN`)).toMatchObject({
      kind: 'role',
      role: 'CURRENT_USER',
      sql: 'ALTER ROLE "CURRENT_USER" WITH LOGIN',
    });
  });

  it('writes each statement anew from what it read; a form pg_dumpall does not write is not read', () => {
    expect(
      classify(`ALTER ROLE a WITH SUPERUSER LOGIN CONNECTION LIMIT 3 PASSWORD E'p\\'w\\\\'`),
    ).toEqual({
      kind: 'role',
      role: 'a',
      create: false,
      options: ['SUPERUSER', 'LOGIN', 'CONNECTION LIMIT 3', `PASSWORD E'p''w\\\\'`],
      sql: `ALTER ROLE "a" WITH SUPERUSER LOGIN CONNECTION LIMIT 3 PASSWORD E'p''w\\\\'`,
    });
    expect(classify(`ALTER ROLE a SET search_path TO 'x', 'y'`)).toMatchObject({
      sql: `ALTER ROLE "a" SET "search_path" TO 'x', 'y'`,
    });
    for (const sql of [
      'ALTER ROLE a RENAME TO postgres',
      'ALTER ROLE a WITH LOGIN; DROP ROLE postgres',
      'ALTER ROLE a RESET ALL',
      'GRANT a TO b WITH ADMIN OPTION, EVERYTHING TRUE',
      'REVOKE a FROM b',
      'GRANT SELECT ON pg_authid TO a',
      `COMMENT ON ROLE a IS $$x$$`,
    ]) {
      expect(classify(sql), sql).toMatchObject({ kind: 'other' });
    }
  });

  it('reads E strings, block comments, settings in a database and tablespaces', () => {
    const statements = globalStatements(
      [
        `COMMENT ON ROLE r IS E'x\\';y';`,
        `/* ; */ ALTER ROLE "R" IN DATABASE "my db" SET search_path TO 'a;b';`,
        `CREATE TABLESPACE "t s" OWNER r LOCATION '/data/it''s';`,
        `GRANT ALL ON TABLESPACE "t s" TO r;`,
        `\\connect template1`,
        `SET client_encoding = 'UTF8';`,
      ].join('\n'),
    );
    expect(statements.map((s) => s.kind)).toEqual([
      'role',
      'role-in-database',
      'tablespace',
      'tablespace',
      'session',
    ]);
    expect(statements[1]).toMatchObject({ role: 'R', database: 'my db' });
    expect(statements[2]).toMatchObject({ tablespace: 't s', location: "/data/it's" });
    expect(classify('CREATE ROLE Mixed')).toMatchObject({ role: 'mixed' });
    expect(classify('DROP DATABASE x')).toMatchObject({ kind: 'other' });
  });
});

describe('the plan', () => {
  it('leaves existing roles and the restoring role as they are, and says what it skipped', () => {
    const plan = planGlobals(globalStatements(script), {
      roles: new Set(['postgres', 'app_reader']),
      currentUser: 'postgres',
      tablespaces: new Set(),
      sameName: new Set(),
      tablespaceMode: 'skip',
      allowPrivileged: false,
    });
    expect(plan.created.sort()).toEqual(['app_owner', HOSTILE, 'Übung Rolle'].sort());
    expect(plan.existing.sort()).toEqual(['app_reader', 'postgres']);
    expect(plan.roles.some((s) => s.kind === 'role' && s.role === 'postgres')).toBe(false);
    expect(plan.roles.some((s) => s.kind === 'role' && s.role === 'app_reader')).toBe(false);
    expect(plan.skipped).toEqual([
      'membership of "app_owner" in "app_reader": "app_reader" is not a role this restore made (allow-privileged-roles: true grants it)',
      'membership of "postgres" in "app_reader": the member existed before and is left as it is',
    ]);
    // No line of the plan's report shows a password hash.
    expect(plan.skipped.join('\n')).not.toMatch(/SCRAM/);
  });
});

describe('applied to an empty cluster', () => {
  const log: Logger & { warnings: string[] } = {
    warnings: [],
    info: () => undefined,
    warning(message) {
      this.warnings.push(message);
    },
  };

  it('creates the missing roles with their memberships and comments, leaves the existing one, and drops what it made', async () => {
    const server = parseDatabaseUrl(target.url);
    const before = await roles(target.url);
    const applied = await applyGlobals(
      server,
      script,
      { sameName: new Set(), tablespaceMode: 'skip', allowPrivileged: false },
      log,
    );
    expect(applied.created.sort()).toEqual(['app_owner', HOSTILE, 'Übung Rolle'].sort());
    expect(applied.plan.existing.sort()).toEqual(['app_reader', 'postgres']);
    await withClient(target.url, async (client) => {
      const { rows } = await client.query(
        `SELECT pg_has_role('app_owner', 'app_reader', 'MEMBER') AS member,
                (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_owner') AS login,
                shobj_description((SELECT oid FROM pg_roles WHERE rolname = 'app_reader'), 'pg_authid') AS comment,
                (SELECT rolpassword FROM pg_authid WHERE rolname = 'app_owner') LIKE 'SCRAM-SHA-256$%' AS password`,
      );
      // app_reader existed: its comment from the backup was not applied, nor was membership in it.
      expect(rows[0]).toEqual({ member: false, login: true, comment: null, password: true });
    });
    expect(applied.failed).toEqual([]);
    expect(await dropRoles(server, applied.created, log)).toEqual([]);
    expect(await roles(target.url)).toEqual(before);
  });

  it('applies a new role’s settings in a database restored under its own name, once it is there', async () => {
    const server = parseDatabaseUrl(target.url);
    const script = [
      'CREATE ROLE tuned;',
      `ALTER ROLE tuned IN DATABASE same SET work_mem TO '9MB';`,
      `ALTER ROLE tuned IN DATABASE renamed SET work_mem TO '9MB';`,
    ].join('\n');
    const applied = await applyGlobals(
      server,
      script,
      { sameName: new Set(['same']), tablespaceMode: 'create', allowPrivileged: false },
      log,
    );
    expect(applied.plan.skipped).toEqual([
      'a setting of "tuned" in "renamed": that database is not restored under its own name',
    ]);
    await withClient(target.url, (client) => client.query('CREATE DATABASE same'));
    try {
      await applyInDatabase(server, 'same', applied, log);
      const settings = await withClient(target.url, async (client) => {
        const { rows } = await client.query(
          `SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
            WHERE d.datname = 'same' AND s.setrole = 'tuned'::regrole`,
        );
        return rows;
      });
      expect(settings).toEqual([{ setconfig: ['work_mem=9MB'] }]);
    } finally {
      await withClient(target.url, (client) => client.query('DROP DATABASE same'));
      await dropRoles(server, applied.created, log);
    }
  });

  it('never runs what it could not read: a quoting it misreads cannot smuggle a command', async () => {
    const server = parseDatabaseUrl(target.url);
    // The splitter knows no dollar quotes: it reads the comment's ' as opening a string that runs
    // to the next one, so the middle command rides along with the role's comment.
    const script = `CREATE ROLE commented;\nCOMMENT ON ROLE commented IS $$it's$$; CREATE ROLE sneaky; COMMENT ON ROLE commented IS 'x';\n`;
    const applied = await applyGlobals(
      server,
      script,
      { sameName: new Set(), tablespaceMode: 'skip', allowPrivileged: false },
      log,
    );
    try {
      expect(applied.created).toEqual(['commented']);
      expect(applied.plan.skipped).toEqual([
        'a statement not read (COMMENT ON ROLE: a string expected)',
      ]);
      expect(await roles(target.url)).not.toContain('sneaky');
    } finally {
      await dropRoles(server, applied.created, log);
    }
  });

  it('keeps a membership’s grantor where the server lets the restoring role name it, and says where it could not', async () => {
    const script = [
      'CREATE ROLE g_team;',
      'CREATE ROLE g_admin;',
      'CREATE ROLE g_member;',
      'GRANT g_team TO g_admin WITH ADMIN OPTION GRANTED BY postgres;',
      'GRANT g_team TO g_member GRANTED BY g_admin;',
      'CREATE ROLE g_other;',
      'GRANT g_team TO g_other GRANTED BY g_gone;',
    ].join('\n');
    await withClient(target.url, (client) =>
      client.query(`CREATE ROLE g_restorer LOGIN CREATEROLE PASSWORD 'restorer-pass-5'`),
    );
    const asRestorer = new URL(target.url);
    asRestorer.username = 'g_restorer';
    asRestorer.password = 'restorer-pass-5';
    const applied = await applyGlobals(
      parseDatabaseUrl(asRestorer.toString()),
      script,
      { sameName: new Set(), tablespaceMode: 'skip', allowPrivileged: false },
      log,
    );
    try {
      // A role that is no superuser may name only itself as the grantor (15; on 16+ only a role
      // whose privileges it has): the memberships are granted, by it, and each says why.
      expect(await grantors(target.url, 'g_team')).toEqual([
        { member: 'g_admin', grantor: 'g_restorer' },
        { member: 'g_member', grantor: 'g_restorer' },
        { member: 'g_other', grantor: 'g_restorer' },
      ]);
      expect(applied.grantorsNotKept).toEqual([
        expect.stringMatching(
          /^membership of "g_admin" in "g_team": granted by the restoring role, not "postgres": \S/,
        ),
        expect.stringMatching(
          /^membership of "g_member" in "g_team": granted by the restoring role, not "g_admin": \S/,
        ),
        'membership of "g_other" in "g_team": granted by the restoring role, not "g_gone": the role "g_gone" is not on this server',
      ]);
      expect(applied.failed).toEqual([]);
    } finally {
      await dropRoles(parseDatabaseUrl(target.url), [...applied.created, 'g_restorer'], log);
    }
    // As a superuser, the backup's grantors are kept.
    const again = await applyGlobals(
      parseDatabaseUrl(target.url),
      script,
      { sameName: new Set(), tablespaceMode: 'skip', allowPrivileged: false },
      log,
    );
    try {
      expect(await grantors(target.url, 'g_team')).toEqual([
        { member: 'g_admin', grantor: 'postgres' },
        { member: 'g_member', grantor: 'g_admin' },
        { member: 'g_other', grantor: 'postgres' },
      ]);
      expect(again.grantorsNotKept).toEqual([
        'membership of "g_other" in "g_team": granted by the restoring role, not "g_gone": the role "g_gone" is not on this server',
      ]);
    } finally {
      await dropRoles(parseDatabaseUrl(target.url), again.created, log);
    }
  });

  it('creates a missing tablespace where the script says, with its comment; an existing one is left', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'tablespace-'));
    const owner = await stat(target.dataDir);
    await chown(folder, owner.uid, owner.gid);
    const script = [
      `CREATE TABLESPACE made OWNER postgres LOCATION '${folder}';`,
      `COMMENT ON TABLESPACE made IS 'from the backup';`,
      `CREATE TABLESPACE pg_default LOCATION '/elsewhere';`,
    ].join('\n');
    const server = parseDatabaseUrl(target.url);
    try {
      const applied = await applyGlobals(
        server,
        script,
        { sameName: new Set(), tablespaceMode: 'create', allowPrivileged: false },
        log,
      );
      expect(applied.plan.skipped).toEqual(['tablespace "pg_default": exists, left as it is']);
      const rows = await withClient(target.url, async (client) => {
        const result = await client.query(
          `SELECT pg_tablespace_location(oid) AS location, shobj_description(oid, 'pg_tablespace') AS comment
             FROM pg_tablespace WHERE spcname = 'made'`,
        );
        return result.rows;
      });
      expect(rows).toEqual([{ location: folder, comment: 'from the backup' }]);
    } finally {
      await withClient(target.url, (client) => client.query('DROP TABLESPACE IF EXISTS made'));
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('fails in one line when a tablespace’s folder cannot be used', async () => {
    const script = `CREATE TABLESPACE lost OWNER postgres LOCATION '/nonexistent/folder';\n`;
    await expect(
      applyGlobals(
        parseDatabaseUrl(target.url),
        script,
        { sameName: new Set(), tablespaceMode: 'create', allowPrivileged: false },
        log,
      ),
    ).rejects.toThrow(
      /^restore-globals: cannot create the tablespace "lost" at "\/nonexistent\/folder": [^\n]+$/,
    );
  });
});

async function grantors(url: string, granted: string) {
  return withClient(url, async (client) => {
    const { rows } = await client.query(
      `SELECT m.rolname AS member, g.rolname AS grantor FROM pg_auth_members a
         JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.grantor
        WHERE a.roleid = $1::regrole ORDER BY 1`,
      [granted],
    );
    return rows;
  });
}

async function roles(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ n: string }>(
      'SELECT rolname AS n FROM pg_roles ORDER BY 1',
    );
    return rows.map((row) => row.n);
  });
}
