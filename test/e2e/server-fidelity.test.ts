/**
 * A whole-server backup restored as a hostile user tried it (issue 27, items 6, 15, 16, 17), by
 * the bundled action: globals someone with write access to the store extended with statements
 * about the restoring role and every role, privileged roles and memberships, a membership granted
 * by another role, and a database whose privileges keep PUBLIC out. The restore leaves every role
 * the server had as it was, creates no privilege the user did not allow, and brings back the
 * database's privileges and the membership's grantor; restore-test compares those privileges.
 *
 * Covers: src/restore/globals-sql.ts, src/restore/globals-plan.ts, src/restore/globals.ts,
 * src/kinds/server/roles.ts, src/kinds/server/restore.ts, src/kinds/server/restore-test.ts,
 * src/kinds/server/backup.ts, src/postgres/database-statements.ts,
 * src/postgres/database-settings.ts, src/inputs/common.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import {
  applyDatabaseStatements,
  missingDatabaseStatements,
} from '../../src/postgres/database-settings.js';
import { databaseStatements } from '../../src/postgres/database-statements.js';
import { readDatabaseUrl } from '../../src/inputs/database.js';
import { Inputs } from '../../src/inputs/reader.js';
import { runAction, type ActionRun } from '../support/action.js';

let source: PgCluster;
let target: PgCluster;
let work: string;
let store: string;
let backup: ActionRun;

/** What a hostile writer of the store adds to the globals: none of it may touch the server's roles. */
const FORGED = [
  `ALTER ROLE CURRENT_USER WITH PASSWORD 'forged-password-1';`,
  `ALTER ROLE session_user WITH NOLOGIN;`,
  `ALTER ROLE Current_Role SET work_mem = '64kB';`,
  `ALTER ROLE ALL SET statement_timeout = '1ms';`,
  `ALTER ROLE postgres WITH CONNECTION LIMIT 1;`,
  `GRANT postgres TO app;`,
  `ALTER ROLE "CURRENT_USER" WITH CONNECTION LIMIT 3;`,
].join('\n');

beforeAll(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  work = await mkdtemp(path.join(os.tmpdir(), 'server-fidelity-'));
  store = path.join(work, 'store');
  await withClient(source.url, async (client) => {
    for (const sql of [
      `CREATE ROLE fid_admin CREATEROLE`,
      `CREATE ROLE team`,
      `CREATE ROLE app LOGIN PASSWORD 'app-secret-77'`,
      `GRANT team TO fid_admin WITH ADMIN OPTION`,
      `GRANT team TO app GRANTED BY fid_admin`,
      `CREATE ROLE boss SUPERUSER`,
      `CREATE ROLE repl REPLICATION BYPASSRLS`,
      `CREATE ROLE "CURRENT_USER"`,
      `GRANT pg_read_server_files TO app`,
      `CREATE DATABASE shop OWNER app`,
      `REVOKE CONNECT, TEMPORARY ON DATABASE shop FROM PUBLIC`,
      `GRANT CONNECT ON DATABASE shop TO "CURRENT_USER"`,
      `GRANT CONNECT, TEMPORARY ON DATABASE shop TO team`,
    ]) {
      await client.query(sql);
    }
  });
  await withClient(withDatabase(source.url, 'shop'), (client) =>
    client.query(
      `SET ROLE app; CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 70)`,
    ),
  );
  backup = await runAction({
    storage: store,
    name: 'srv',
    'database-url': source.url,
    databases: 'shop',
    compression: 'none',
  });
  expect(backup.code, backup.stdout + backup.stderr).toBe(0);
  await forgeGlobals();
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** Appends FORGED to the stored globals and fixes the manifest's size and sha256 to match. */
async function forgeGlobals(): Promise<void> {
  const id = backup.outputs['backup-id'] ?? '';
  const manifestFile = path.join(store, 'srv', `${id}.manifest.json`);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
    globals: { object: { key: string; size: number; sha256: string } };
  };
  const file = path.join(store, manifest.globals.object.key);
  const bytes = Buffer.concat([await readFile(file), Buffer.from(`\n${FORGED}\n`)]);
  await writeFile(file, bytes);
  manifest.globals.object.size = bytes.length;
  manifest.globals.object.sha256 = createHash('sha256').update(bytes).digest('hex');
  await writeFile(manifestFile, JSON.stringify(manifest));
}

/** The roles of a cluster as a user inspects them: attributes, password set, settings, memberships. */
async function rolesOf(url: string) {
  return withClient(url, async (client) => {
    const { rows: roles } = await client.query(
      `SELECT rolname AS name, rolsuper AS super, rolreplication AS replication,
              rolbypassrls AS bypassrls, rolcanlogin AS login, rolconnlimit AS limit,
              rolpassword IS NOT NULL AS password
         FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY 1`,
    );
    const { rows: settings } = await client.query(
      `SELECT setrole::regrole::text AS role, setconfig FROM pg_db_role_setting ORDER BY 1`,
    );
    const { rows: members } = await client.query(
      `SELECT r.rolname AS granted, m.rolname AS member, g.rolname AS grantor
         FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
         JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.grantor
        WHERE m.rolname !~ '^pg_' ORDER BY 1, 2`,
    );
    return { roles, settings, members };
  });
}

/** What a kept restore-test left: its scratch database and the backup's roles. */
async function dropKept(scratch: string): Promise<void> {
  await withClient(target.url, async (client) => {
    if (scratch) await client.query(`DROP DATABASE IF EXISTS ${scratch}`);
    for (const role of ['app', 'team', 'fid_admin', 'boss', 'repl', 'CURRENT_USER']) {
      await client.query(`DROP ROLE IF EXISTS "${role}"`);
    }
  });
}

const databaseAcl = (url: string, database: string) =>
  withClient(url, async (client) => {
    const { rows } = await client.query<{ acl: string | null }>(
      `SELECT datacl::text AS acl FROM pg_database WHERE datname = $1`,
      [database],
    );
    return rows[0]?.acl;
  });

describe('restore-globals against globals someone else wrote', () => {
  it('restore-test: allow-privileged-roles creates what it allows and names it; the server’s roles stay as they were; the database’s privileges are compared', async () => {
    const before = await rolesOf(target.url);
    const run = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'srv',
      'database-url': target.url,
      'restore-globals': 'true',
      'allow-privileged-roles': 'true',
      'keep-database': 'true',
    });
    const scratch = /Scratch databases \| (\S+) \(kept/.exec(run.summary)?.[1] ?? '';
    try {
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.summary).toMatch(
        /allowed by allow-privileged-roles: "boss" with SUPERUSER; "repl" with REPLICATION, BYPASSRLS; membership of "app" in "pg_read_server_files"; membership of "app" in "postgres"/,
      );
      const kept = await rolesOf(target.url);
      expect(kept.roles).toContainEqual(expect.objectContaining({ name: 'boss', super: true }));
      // The scratch database (kept) holds the backup's privileges: PUBLIC cannot connect.
      expect(scratch).toMatch(/^restore_test_srv_/);
      const acl = await databaseAcl(target.url, scratch);
      expect(acl).not.toMatch(/[{,]=/);
      expect(acl).toMatch(/[{,]CURRENT_USER=c\//);
      expect(acl).toMatch(/[{,]team=Tc\//);
      expect(run.stdout).not.toMatch(/did not restore/);
    } finally {
      await dropKept(scratch);
    }
    expect(await rolesOf(target.url)).toEqual(before);
  });

  it('restore: every role the server had stays as it was; privileged roles and memberships are withheld and named; grantor and database privileges come back', async () => {
    const before = await rolesOf(target.url);
    const run = await runAction({
      mode: 'restore',
      storage: store,
      name: 'srv',
      'database-url': target.url,
      'restore-globals': 'true',
      confirm: 'shop',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const after = await rolesOf(target.url);
    // The restoring role (postgres): no password, no setting, no lost login or limit.
    expect(after.roles.find((role) => role.name === 'postgres')).toEqual(
      before.roles.find((role) => role.name === 'postgres'),
    );
    expect(after.settings).toEqual([]);
    const role = (name: string) => after.roles.find((one) => one.name === name);
    // A quoted "CURRENT_USER" is a role of the backup: created, and its own statement applied.
    expect(role('CURRENT_USER')).toMatchObject({ limit: 3 });
    expect(role('boss')).toMatchObject({ super: false });
    expect(role('repl')).toMatchObject({ replication: false, bypassrls: false });
    expect(role('app')).toMatchObject({ login: true, password: true });
    expect(after.members).toEqual([
      { granted: 'team', member: 'app', grantor: 'fid_admin' },
      { granted: 'team', member: 'fid_admin', grantor: 'postgres' },
    ]);
    expect(await databaseAcl(target.url, 'shop')).toBe(await databaseAcl(source.url, 'shop'));
    const roles = /\| Roles \| ([^\n]*) \|/.exec(run.summary)?.[1] ?? '';
    expect(roles).toMatch(
      /^6 created \("CURRENT_USER", "app", "boss", "fid_admin", "repl", "team"\); left as they were: "postgres"; skipped: /,
    );
    expect(roles).toContain('"boss" with SUPERUSER: created without them');
    expect(roles).toContain('"repl" with REPLICATION, BYPASSRLS: created without them');
    expect(roles).toContain(
      'membership of "app" in "pg_read_server_files": "pg_read_server_files" is not a role this restore made',
    );
    expect(roles).toContain('membership of "app" in "postgres": "postgres" is not a role');
    for (const keyword of ['CURRENT_USER', 'SESSION_USER', 'CURRENT_ROLE', 'ALL']) {
      expect(roles).toContain(`${keyword} is not the name of one of the backup's roles`);
    }
    expect(roles).not.toMatch(/grantor not kept/);
    expect(run.summary).toMatch(/\| shop \| shop \(created\) \| 1 \| 70 \| restored \|/);
    expect(run.everything).not.toContain('forged-password-1');
    expect(run.everything).not.toMatch(/SCRAM-SHA-256/);
  });
});

describe('a database’s privileges, as restore-test compares them', () => {
  it('finds each GRANT not held and each REVOKE not in force, the last about a privilege deciding, and none once applied', async () => {
    const script = [
      'CREATE DATABASE acl_src WITH TEMPLATE = template0;',
      'REVOKE CONNECT,TEMPORARY ON DATABASE acl_src FROM PUBLIC;',
      'GRANT CONNECT ON DATABASE acl_src TO "Acl Reader";',
      'GRANT ALL ON DATABASE acl_src TO acl_writer WITH GRANT OPTION;',
      // As pg_dump writes a REVOKE of CONNECT alone: both revoked, then TEMPORARY given back.
      'GRANT TEMPORARY ON DATABASE acl_src TO PUBLIC;',
    ].join('\n');
    const statements = databaseStatements(script);
    expect(statements.map((s) => s.kind)).toEqual(Array(4).fill('privilege'));
    const server = readDatabaseUrl(new Inputs(() => target.url), 'database-url').target;
    await withClient(target.url, async (client) => {
      await client.query(`CREATE ROLE "Acl Reader"; CREATE ROLE acl_writer`);
      await client.query(`CREATE DATABASE "acl copy"`);
    });
    try {
      const texts = async () =>
        (await missingDatabaseStatements(server, 'acl copy', statements)).map((s) => s.text);
      // A new database's PUBLIC may already use TEMPORARY: that GRANT is in force.
      expect(await texts()).toEqual(statements.slice(0, 3).map((s) => s.text));
      const applied = await applyDatabaseStatements(server, 'acl copy', statements);
      expect(applied.map((one) => one.error)).toEqual(Array(4).fill(undefined));
      expect(await texts()).toEqual([]);
      await withClient(target.url, (client) =>
        client.query(`REVOKE CONNECT ON DATABASE "acl copy" FROM "Acl Reader"`),
      );
      expect(await texts()).toEqual(['GRANT CONNECT ON DATABASE acl_src TO "Acl Reader"']);
    } finally {
      await withClient(target.url, async (client) => {
        await client.query(`DROP DATABASE "acl copy"`);
        await client.query(`DROP ROLE "Acl Reader"; DROP ROLE acl_writer`);
      });
    }
  });
});

describe('a server backup’s outputs', () => {
  it('set no sha256: there is no one object; each object’s is in the manifest', async () => {
    expect(backup.outputs['backup-id']).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(Object.keys(backup.outputs)).not.toContain('sha256');
    const folder = path.join(store, 'srv', backup.outputs['backup-id'] ?? '');
    expect((await readdir(folder)).sort()).toEqual(['globals.sql', 'shop.dump']);
  });
});
