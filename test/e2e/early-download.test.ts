/**
 * restore and restore-test begin the archive's download while they check the target: a check that
 * fails is the run's one error, and the download begun meanwhile leaves nothing in RUNNER_TEMP.
 *
 * Covers: src/restore/archive.ts, src/kinds/database/restore-test.ts, src/kinds/database/restore.ts.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction, type RunOptions } from '../support/action.js';
import { freshDatabase, sampleSource, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';

const sample = sampleSource('early_src', 20000);
let store: string;
let runnerTemp: string;

beforeAll(async () => {
  store = path.join(sample.work, 'store');
  const made = await runAction({ storage: store, 'database-url': sample.db.url, name: 'early' });
  expect(made.code, made.stdout).toBe(0);
});

beforeEach(async () => {
  runnerTemp = await mkdtemp(path.join(os.tmpdir(), 'early-temp-'));
});

afterEach(async () => {
  await rm(runnerTemp, { recursive: true, force: true });
});

/** What the run left in RUNNER_TEMP besides its report (which later steps of the job read). */
async function leftInTemp(): Promise<string[]> {
  const entries = await readdir(runnerTemp);
  return entries.filter((name) => !/^backup-action-report-[0-9a-f]+\.json$/.test(name));
}

/** A "server" that takes every connection and hangs up a second later, unanswered. */
async function hangingUp(): Promise<{ port: number; close(): void }> {
  const server = net.createServer((socket) => {
    setTimeout(() => socket.destroy(), 1000);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

describe('a check that fails while the archive downloads', () => {
  it('restore-test: the scratch server’s failure is the error; no archive is left behind', async () => {
    const server = await hangingUp();
    try {
      const url = new URL(testDatabaseUrl());
      url.port = String(server.port);
      const run = await runAction(
        {
          mode: 'restore-test',
          storage: store,
          name: 'early',
          'database-url': url.href,
          // A server that hangs up is retried, as any refused connection: once is enough here.
          retries: '0',
        },
        { runnerTemp },
      );
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(/^cannot connect to postgres(ql)?:\/\/postgres:\*\*\*@/);
      expect(run.stdout).not.toMatch(/sha256 .* verified/);
      expect(await leftInTemp()).toEqual([]);
    } finally {
      server.close();
    }
  });

  describe('restore', () => {
    let target: FreshDatabase;
    beforeAll(async () => {
      target = await freshDatabase('early_target');
      const filled = await restore();
      expect(filled.code, filled.stdout).toBe(0);
    });
    afterAll(async () => {
      await target.drop();
    });
    const restore = (options: RunOptions = {}) =>
      runAction(
        {
          mode: 'restore',
          storage: store,
          name: 'early',
          'database-url': target.url,
          confirm: target.name,
        },
        options,
      );

    it('a non-empty target without clean is the error; no archive is left behind', async () => {
      const run = await restore({ runnerTemp });
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(/is not empty \(\d+ tables\); set clean: true/);
      expect(await leftInTemp()).toEqual([]);
    });

    it('the failed check stops a download that would never end (a zstd that stalls)', async () => {
      const bin = path.join(sample.work, 'stalling-bin');
      await mkdir(bin, { recursive: true });
      await writeFile(path.join(bin, 'zstd'), '#!/bin/sh\nexec sleep 600\n', { mode: 0o755 });
      const run = await restore(
        // Without the stop, the run waits on that zstd for ten minutes: it fails by this limit.
        {
          runnerTemp,
          env: { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` },
          timeoutMs: 60_000,
        },
      );
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(/is not empty \(\d+ tables\); set clean: true/);
      expect(await leftInTemp()).toEqual([]);
    });
  });
});
