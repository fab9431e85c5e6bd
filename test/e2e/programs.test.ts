/**
 * Which program runs: Debian's pg_wrapper (a Perl script in front of every PostgreSQL client
 * program) is stepped over to the newest installed version, unless PGCLUSTER asks for its choice.
 *
 * Covers: src/process/programs.ts.
 */
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findProgram, helperEnv, unwrapped } from '../../src/process/programs.js';
import { requireInCI } from '../support/require-in-ci.js';

let root: string;
let wrapped: string;
let versions: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'programs-test-'));
  // The layout Debian's postgresql-common makes: bin/pg_dump → share/postgresql-common/pg_wrapper.
  await mkdir(path.join(root, 'share/postgresql-common'), { recursive: true });
  await writeFile(path.join(root, 'share/postgresql-common/pg_wrapper'), '#!/usr/bin/perl\n');
  await mkdir(path.join(root, 'bin'));
  wrapped = path.join(root, 'bin/pg_dump');
  await symlink('../share/postgresql-common/pg_wrapper', wrapped);
  // pg_restore is wrapped too, but no version below has it.
  await symlink('../share/postgresql-common/pg_wrapper', path.join(root, 'bin/pg_restore'));
  versions = path.join(root, 'lib/postgresql');
  for (const version of ['9', '14', '16']) {
    await mkdir(path.join(versions, version, 'bin'), { recursive: true });
    const program = path.join(versions, version, 'bin/pg_dump');
    await writeFile(program, '#!/bin/sh\n');
    await chmod(program, 0o755);
  }
  // A newer version whose client is not installed (only its server's folder, say).
  await mkdir(path.join(versions, '17', 'bin'), { recursive: true });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it('runs the newest installed version directly instead of the wrapper', async () => {
  expect(await unwrapped('pg_dump', wrapped, versions, {})).toBe(
    path.join(versions, '16/bin/pg_dump'),
  );
});

it('keeps the wrapper when PGCLUSTER names a cluster, or when no version has the program', async () => {
  expect(await unwrapped('pg_dump', wrapped, versions, { PGCLUSTER: '14/main' })).toBe(wrapped);
  expect(await unwrapped('pg_restore', path.join(root, 'bin/pg_restore'), versions, {})).toBe(
    path.join(root, 'bin/pg_restore'),
  );
});

it('leaves a program that is not the wrapper alone', async () => {
  const plain = path.join(versions, '14/bin/pg_dump');
  expect(await unwrapped('pg_dump', plain, versions, {})).toBe(plain);
});

const wrapper = path.basename(await realpath('/usr/bin/pg_dump').catch(() => ''));
const noWrapper =
  wrapper === 'pg_wrapper'
    ? undefined
    : '/usr/bin/pg_dump is not Debian’s pg_wrapper (apt-get install postgresql-client)';

it.skipIf(requireInCI(noWrapper))(
  'on this Debian machine, finds pg_dump in /usr/lib/postgresql, not the wrapper, and reads its version',
  async () => {
    const program = await findProgram('pg_dump');
    expect(program.path).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin\/pg_dump$/);
    expect(program.version).toMatch(/^\d+\.\d+$/);
  },
);

it('helper programs get only what they need to run from the environment', () => {
  const env = {
    PATH: '/usr/bin',
    HOME: '/home/runner',
    LANG: 'C.UTF-8',
    'INPUT_DATABASE-URL': 'postgres://u:secret@db/app',
    BACKUP_ACTION_ENCRYPTION_PASSPHRASE: 'secret',
    AWS_SECRET_ACCESS_KEY: 'secret',
    GITHUB_TOKEN: 'secret',
  };
  expect(helperEnv(env)).toEqual({ PATH: '/usr/bin', HOME: '/home/runner', LANG: 'C.UTF-8' });
});
