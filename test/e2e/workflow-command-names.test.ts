/**
 * Database names that spell workflow commands (found by the hostile review of issue 27): whoever
 * may create a database on the backed-up server chooses the text of our log lines, and the
 * runner obeys a line whose start is `::` or `##[` (actions/runner, ActionCommand.cs). The
 * bundled action, run as the runner runs it, over a server backup and its restore-test.
 *
 * Covers: src/core/inert-lines.ts, src/main.ts, src/cli.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, withClient, type PgCluster } from '../../scripts/lib/pg-cluster.js';
import { runAction, runCli } from '../support/action.js';

const NAMES = ['::warning::injected', '  ##[error]injected'];
const COMMAND_START = /^[\s\u0085]*(::|##\[)/;

let cluster: PgCluster;
let work: string;

beforeAll(async () => {
  cluster = await startCluster();
  work = await mkdtemp(path.join(os.tmpdir(), 'command-names-'));
  await withClient(cluster.url, async (client) => {
    for (const name of NAMES) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The lines of `output` that name a hostile database and that the runner would obey. */
const obeyed = (output: string) =>
  output
    .split(/\r\n|\r|\n/)
    .filter((line) => line.includes('injected') && COMMAND_START.test(line));

describe('a database named like a workflow command', () => {
  const store = () => path.join(work, 'store');
  const inputs = () => ({ storage: store(), name: 'srv', 'database-url': cluster.url });

  it('is backed up and restore-tested, and no line of the log is a command', async () => {
    const backup = await runAction({ ...inputs(), databases: 'all' });
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);
    const test = await runAction({ ...inputs(), mode: 'restore-test' });
    expect(test.code, test.stdout + test.stderr).toBe(0);
    const output = backup.stdout + test.stdout;
    // The names are there to be read, each behind the mark that makes its line inert.
    expect(test.stdout).toContain('> ::warning::injected: testing in scratch database');
    expect(obeyed(output)).toEqual([]);
  }, 180_000);

  it('the command line, which also runs in `run:` steps, prints none either', async () => {
    const run = await runCli(['restore-test', '--storage', store(), '--name', 'srv'], {
      env: { BACKUP_ACTION_DATABASE_URL: cluster.url },
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('::warning::injected');
    expect(obeyed(run.stdout + run.stderr)).toEqual([]);
  }, 180_000);
});
