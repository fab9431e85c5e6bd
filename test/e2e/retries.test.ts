/**
 * Self-healing runs, as the bundle runs them: a database that is not up yet when the backup
 * starts (its port refuses connections) and comes up after the first attempt is backed up on the
 * second, the attempt and its cause logged and in the summary; a wrong password fails at once,
 * never tried again. The database is the test server behind a TCP forwarder that opens only once
 * the run has logged its first failure. A restore that failed for a reason that passes once it
 * wrote into its empty target is not tried again: the retry would be refused as not empty and
 * hide the first cause.
 *
 * Covers: src/run.ts, src/core/retry.ts, src/postgres/server.ts, src/restore/restore-database.ts.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { lastErrorLine, onceShown, runAction } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { filesUnder } from '../support/listing.js';

let db: FreshDatabase;
let work: string;
const servers: net.Server[] = [];

beforeAll(async () => {
  db = await freshDatabase('retries');
  work = await mkdtemp(path.join(os.tmpdir(), 'retries-'));
});

afterAll(async () => {
  for (const server of servers) server.close();
  await db.drop();
  await rm(work, { recursive: true, force: true });
});

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Starts forwarding `port` to the database: the database "comes up" there. */
function comeUp(port: number, target: URL): void {
  const server = net.createServer((socket) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
  });
  server.listen(port, '127.0.0.1');
  servers.push(server);
}

describe('retries', () => {
  it('back up a database that comes up after the first attempt, and say so', async () => {
    const port = await freePort();
    const real = new URL(db.url);
    const late = new URL(db.url);
    late.host = `127.0.0.1:${port}`;
    const store = path.join(work, 'late');
    const made = await runAction(
      { storage: store, name: 'late', 'database-url': late.href, 'retry-delay': '1s' },
      { onStart: onceShown('attempt 1 of 3 failed', 0, () => comeUp(port, real)) },
    );
    expect(made.code, made.stdout).toBe(0);
    expect(made.stdout).toMatch(
      /::warning::the run: attempt 1 of 3 failed \(connection refused\): cannot connect to .*; trying again in 1 s/,
    );
    expect(made.summary).toContain('| Attempts | 2 (failed before: 1: connection refused) |');
    expect(made.report?.details).toMatchObject({
      attempts: [{ attempt: 1, transient: true, cause: 'connection refused' }],
    });
    // The failed attempt left nothing; the second made one backup.
    expect(await filesUnder(store)).toHaveLength(2);
  });

  it('never try a wrong password again', async () => {
    const wrong = new URL(db.url);
    wrong.password = `wrong-${randomBytes(4).toString('hex')}`;
    const store = path.join(work, 'wrong');
    const failed = await runAction({
      storage: store,
      name: 'wrong',
      'database-url': wrong.href,
      'retry-delay': '1s',
    });
    expect(failed.code).not.toBe(0);
    expect(failed.stdout).toMatch(/::error::cannot connect to .*password authentication failed/);
    expect(failed.stdout).not.toMatch(/attempt \d of \d/);
    expect(failed.summary).not.toContain('Attempts');
    expect(await filesUnder(store)).toEqual([]);
  });

  it('retries: 0 runs once', async () => {
    const port = await freePort();
    const nowhere = new URL(db.url);
    nowhere.host = `127.0.0.1:${port}`;
    const failed = await runAction({
      storage: path.join(work, 'once'),
      name: 'once',
      'database-url': nowhere.href,
      retries: '0',
    });
    expect(failed.code).not.toBe(0);
    expect(failed.stdout).toMatch(/::error::cannot connect to .*ECONNREFUSED/);
    expect(failed.stdout).not.toMatch(/trying again/);
  });

  it('never try again a restore that wrote into its empty target: the first cause is the error', async () => {
    const source = await freshDatabase('retries_src');
    const target = await freshDatabase('retries_tgt');
    try {
      // The table's CHECK passed for its rows and raises now, as a lock timeout, when the
      // restore's COPY checks them: pg_restore fails after it made the table.
      await withClient(source.url, (client) =>
        client.query(`
          CREATE FUNCTION public.guard(int) RETURNS boolean LANGUAGE sql AS 'SELECT true';
          CREATE TABLE public.locked (id int CHECK (public.guard(id)));
          INSERT INTO public.locked SELECT generate_series(1, 5);
          CREATE OR REPLACE FUNCTION public.guard(int) RETURNS boolean LANGUAGE plpgsql AS
            $$BEGIN RAISE EXCEPTION 'could not obtain lock on relation "locked"' USING ERRCODE = '55P03'; END$$;`),
      );
      const store = path.join(work, 'partial');
      const made = await runAction({ storage: store, name: 'partial', 'database-url': source.url });
      expect(made.code, made.stdout).toBe(0);
      const failed = await runAction({
        mode: 'restore',
        storage: store,
        name: 'partial',
        'database-url': target.url,
        confirm: target.name,
        'retry-delay': '1s',
      });
      expect(failed.code).not.toBe(0);
      expect(lastErrorLine(failed)).toMatch(/could not obtain lock on relation "locked"/);
      expect(failed.stdout).not.toMatch(/attempt \d of \d|not empty/);
      expect(failed.summary).toMatch(/Target now \| partly restored: 1 tables are in it now/);
      expect(failed.summary).not.toContain('Attempts');
    } finally {
      await Promise.all([source.drop(), target.drop()]);
    }
  });
});
