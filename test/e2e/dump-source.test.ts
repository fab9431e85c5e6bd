/**
 * pg_dump of a small database finishes in a moment, and Node drains and drops the unread stdout
 * of a program that has finished. A backup may wait between opening the dump and reading it
 * (finding programs, opening the file, another job's work): pg_dump must start only when its
 * bytes are taken, so that none is lost.
 *
 * Covers: src/postgres/dump.ts.
 */
import { text } from 'node:stream/consumers';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DatabaseBackupSettings } from '../../src/core/settings.js';
import { dumpProgram } from '../../src/kinds/database/dump.js';
import { readSettings } from '../../src/modes/index.js';
import { openDumpSource, planDump } from '../../src/postgres/dump.js';
import { serverVersion, withConnection } from '../../src/postgres/server.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';

let db: FreshDatabase;

beforeAll(async () => {
  db = await freshDatabase('dump_source');
});

afterAll(async () => {
  await db?.drop();
});

const log = { info: () => undefined, warning: () => undefined };

it.each(['output', 'direct'] as const)(
  'every byte arrives when the dump is read (%s) a second after it was opened',
  async (way) => {
    const inputs: Record<string, string> = { storage: '/unused', 'database-url': db.url };
    const settings = await readSettings((name) => inputs[name] ?? '', '/work');
    expect(settings).toMatchObject({ mode: 'backup', kind: 'database' });
    const { database, client } = settings as DatabaseBackupSettings;
    const signal = new AbortController().signal;
    const server = await withConnection(database, serverVersion, signal);
    const program = await dumpProgram('pg_dump', server, client, { log, env: process.env });
    const plan = await planDump(database, program, signal);
    const source = await openDumpSource(settings as DatabaseBackupSettings, database, plan);
    try {
      await delay(1000);
      const bytes = way === 'output' ? source.output : source.direct!().stdout;
      const [archive] = await Promise.all([text(bytes), source.finished()]);
      expect(archive.startsWith('PGDMP')).toBe(true);
      expect(archive.length).toBeGreaterThan(100);
    } finally {
      await source.close();
    }
  },
);
