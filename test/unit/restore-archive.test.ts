/**
 * What restores read off an archive, as pure logic: its table of contents, roles and versions.
 *
 * Covers: src/postgres/toc.ts, src/postgres/roles.ts, src/postgres/versions.ts,
 * src/postgres/database-statements.ts.
 */
import { describe, expect, it } from 'vitest';
import { addRolesOf, emptyRoles } from '../../src/postgres/roles.js';
import { databaseStatements } from '../../src/postgres/database-statements.js';
import { hasEntry, parseToc } from '../../src/postgres/toc.js';
import {
  majorOf,
  olderServerNote,
  pgRestoreMajors,
  unrestorableLine,
  unsupportedFormatLine,
} from '../../src/postgres/versions.js';

const LISTING = `;
; Archive created at 2026-11-23 00:30:00 UTC
;     dbname: shop
;     Dump Version: 1.14-0
;     Format: CUSTOM
; Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
; Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
;
; Selected TOC Entries:
;
6; 2615 16386 SCHEMA - sales postgres
215; 1259 16390 TABLE public customers postgres
216; 1259 16400 TABLE sales orders.2024 app
3390; 0 16390 TABLE DATA public customers postgres
`;

describe('the table of contents', () => {
  const toc = parseToc(LISTING);

  it('reads the header versions', () => {
    expect(toc).toMatchObject({ formatVersion: '1.14-0', dumpedBy: '15.18', dumpedFrom: '15.18' });
  });

  it('knows which tables and which tables’ rows the archive holds, dots in names included', () => {
    expect(hasEntry(toc, 'TABLE', 'public.customers')).toBe(true);
    expect(hasEntry(toc, 'TABLE DATA', 'public.customers')).toBe(true);
    expect(hasEntry(toc, 'TABLE', 'inventory.stock')).toBe(false);
    expect(hasEntry(toc, 'TABLE', 'sales.orders.2024')).toBe(true);
    expect(hasEntry(toc, 'TABLE DATA', 'sales.orders.2024')).toBe(false);
  });
});

describe('the roles an archive names', () => {
  it('owners from OWNER TO and SET SESSION AUTHORIZATION, grantees from GRANT and REVOKE', () => {
    const roles = emptyRoles();
    for (const line of [
      'ALTER TABLE public.customers OWNER TO app;',
      'SET SESSION AUTHORIZATION "Odd ""Owner""";',
      'GRANT SELECT ON TABLE public.customers TO reader, "Report Team" WITH GRANT OPTION;',
      'REVOKE ALL ON SCHEMA public FROM PUBLIC;',
      'ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO reader;',
      "SELECT pg_catalog.set_config('search_path', '', false);",
    ]) {
      addRolesOf(line, roles);
    }
    expect([...roles.owners].sort()).toEqual(['Odd "Owner"', 'app']);
    expect([...roles.grantees].sort()).toEqual(['Report Team', 'reader']);
  });
});

describe('versions', () => {
  const pgRestore = { version: '15.18', major: 15 };

  it('reads majors', () => {
    expect([majorOf('15.18'), majorOf('9.6.24'), majorOf(undefined), majorOf('x')]).toEqual([
      15,
      9,
      undefined,
      undefined,
    ]);
  });

  it('turns pg_restore’s header refusal into one line', () => {
    const line = unsupportedFormatLine(
      'pg_restore: error: unsupported version (1.16) in file header',
      pgRestore,
      '17.2',
    );
    expect(line).toMatch(
      /^pg_restore 15\.18 cannot read this archive \(format 1\.16, made by pg_dump 17\.2\)/,
    );
    expect(unsupportedFormatLine('pg_restore: error: other', pgRestore, '17.2')).toBeUndefined();
  });

  it('warns when the target server is older than the backup’s source', () => {
    expect(olderServerNote('15.18', pgRestore)).toBeUndefined();
    expect(olderServerNote('16.1', pgRestore)).toMatch(/postgres:16/);
  });
});

/**
 * pg_restore 17 and newer always send `SET transaction_timeout = 0` (PostgreSQL's
 * src/bin/pg_dump/pg_backup_archiver.c, `_doSetFixedOutputState`; the parameter, and that line,
 * came in 17 with commit 51efe38 "Introduce transaction_timeout"), which servers before 17 refuse.
 */
describe('which pg_restore can restore into a server', () => {
  const server = (major: number) => ({ version: `${major}.3`, major });
  const range = (dump: string | undefined, into: number) => {
    const { oldest, newest, install } = pgRestoreMajors(dump, server(into));
    return { oldest, newest: newest?.major, install };
  };

  it('a server of 17 or newer takes any pg_restore that reads the archive', () => {
    expect(range('15.18', 17)).toEqual({ oldest: 15, newest: undefined, install: 15 });
    expect(range('18.1', 18)).toEqual({ oldest: 18, newest: undefined, install: 18 });
    expect(pgRestoreMajors('16.2', undefined)).toEqual({ oldest: 16, install: 16 });
  });

  it('a server before 17 takes none newer than 16; the one installed is the server’s major, or the archive’s when newer', () => {
    expect(range('15.18', 15)).toEqual({ oldest: 15, newest: 16, install: 15 });
    expect(range('14.5', 16)).toEqual({ oldest: 14, newest: 16, install: 16 });
    expect(range('16.1', 15)).toEqual({ oldest: 16, newest: 16, install: 16 });
    expect(range(undefined, 15)).toEqual({ oldest: undefined, newest: 16, install: 15 });
    expect(pgRestoreMajors('15.18', server(15)).newest?.why).toBe(
      'cannot restore into the PostgreSQL 15.3 server: pg_restore 17 and newer always set transaction_timeout, which servers before 17 lack',
    );
  });

  it('an archive of pg_dump 17 or newer into a server before 17: one line, since no pg_restore can', () => {
    expect(unrestorableLine('17.2', server(16))).toBe(
      'the backup was made by pg_dump 17.2, whose archive only pg_restore 17 or newer reads, and pg_restore 17 and newer always set transaction_timeout, which the PostgreSQL 16.3 server lacks; restore into PostgreSQL 17 or newer (e.g. image postgres:17)',
    );
    expect(unrestorableLine('16.4', server(15))).toBeUndefined();
    expect(unrestorableLine('18.1', server(17))).toBeUndefined();
    expect(unrestorableLine(undefined, server(15))).toBeUndefined();
  });
});

describe('the database’s settings and comment in a pg_restore --create script', () => {
  const SCRIPT = `--
-- Name: shop; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE "Shop ""EU""" WITH TEMPLATE = template0 ENCODING = 'UTF8';

\\connect -reuse-previous=on "dbname='Shop \\"EU\\"'"

COMMENT ON DATABASE "Shop ""EU""" IS 'Shop "EU"; the
ALTER DATABASE "Shop ""EU""" SET x TO 1; live one';

ALTER DATABASE "Shop ""EU""" SET search_path TO 'app, x', 'public';
ALTER ROLE "Report er" IN DATABASE "Shop ""EU""" SET work_mem TO '8MB';
ALTER DATABASE other SET work_mem TO '1MB';
ALTER DATABASE "Shop ""EU""" OWNER TO postgres;
`;

  it('reads each statement for the created database, whatever its name and its quotes hold', () => {
    const statements = databaseStatements(SCRIPT);
    expect(statements.map((s) => s.sql('tgt'))).toEqual([
      `COMMENT ON DATABASE "tgt" IS 'Shop "EU"; the\nALTER DATABASE "Shop ""EU""" SET x TO 1; live one'`,
      `ALTER DATABASE "tgt" SET search_path TO 'app, x', 'public'`,
      `ALTER ROLE "Report er" IN DATABASE "tgt" SET work_mem TO '8MB'`,
    ]);
    expect(statements.map((s) => s.setting)).toEqual([
      undefined,
      { role: null, name: 'search_path' },
      { role: 'Report er', name: 'work_mem' },
    ]);
  });

  it('quotes the new name as quote_ident does', () => {
    const [comment] = databaseStatements(SCRIPT);
    expect(comment?.sql('we"ird; name')).toMatch(/^COMMENT ON DATABASE "we""ird; name" IS 'Shop/);
  });

  it('finds nothing in a script without a database', () => {
    expect(databaseStatements('SET client_encoding = UTF8;\n')).toEqual([]);
  });
});
