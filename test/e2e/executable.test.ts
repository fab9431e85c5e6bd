/**
 * The single executables (`npm run sea`): the x64 one is run for real, beside the bundle it must
 * match (`node dist/cli/index.js`), through every mode against the tests' PostgreSQL, a directory
 * store, s3rver and an HTTP recorder; the arm64 one is checked to be an aarch64 program carrying
 * the blob, and is run under qemu-user.
 *
 * Covers: scripts/sea.js, src/cli.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillSampleDatabase, tableRowCounts } from '../../scripts/lib/sample-db.js';
import { SEA_FUSE, SEA_RESOURCE } from '../../scripts/sea.js';
import { runCli } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { S3_ENV, testDatabaseUrl, testS3Bucket, testS3Endpoint } from '../support/env.js';
import { executable } from '../support/executables.js';
import { startRecorder, type Recorder } from '../support/recorder.js';
import { requireInCI } from '../support/require-in-ci.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument list (no shell) and the given environment only. */
function runProgram(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() };
    execFile(file, args, { env: { ...base, ...env }, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error.code as number | undefined) ?? null) : 0, stdout, stderr }),
    );
  });
}

/** The `name=value` outputs the command line prints after its summary. */
const outputsOf = (stdout: string): Record<string, string> =>
  Object.fromEntries([...stdout.matchAll(/^([a-z-]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));

describe('the x64 executable', () => {
  let exe: string;
  let db: FreshDatabase;
  let dir: string;
  let recorder: Recorder;
  const secret = (name: string, value: string) => {
    const file = path.join(dir, name);
    return writeFile(file, `${value}\n`, { mode: 0o600 }).then(() => file);
  };

  beforeAll(async () => {
    [exe, db, dir, recorder] = await Promise.all([
      executable('x64'),
      freshDatabase('sea_src'),
      mkdtemp(path.join(os.tmpdir(), 'sea-test-')),
      startRecorder(),
    ]);
    await fillSampleDatabase(db.url, { rows: 200 });
  }, 600_000);

  afterAll(async () => {
    await Promise.all([db?.drop(), recorder?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the same --version, --help and usage errors as the bundle, with the same exit codes', async () => {
    const cases = [
      ['--version'],
      ['--help'],
      ['backup', '--storage', '/b', '--help'],
      [],
      ['backups', '--storage', '/b'],
      ['backup', '--no-such-input', 'x'],
    ];
    for (const args of cases) {
      const [own, bundle] = await Promise.all([runProgram(exe, args), runCli(args)]);
      expect({ ...own }, args.join(' ')).toEqual({
        code: bundle.code,
        stdout: bundle.stdout,
        stderr: bundle.stderr,
      });
    }
    const version = await runProgram(exe, ['--version']);
    const { version: ours } = JSON.parse(await readFile('package.json', 'utf8')) as {
      version: string;
    };
    expect(version.stdout).toBe(`backup-action ${ours} (Node.js ${process.versions.node})\n`);
  });

  it('refuses a bad input in one line naming it, before any work, as the bundle does', async () => {
    const store = path.join(dir, 'refused');
    const args = ['backup', '--storage', store, '--compression', 'rar'];
    const env = { BACKUP_ACTION_DATABASE_URL: db.url };
    const [own, bundle] = await Promise.all([runProgram(exe, args, env), runCli(args, { env })]);
    expect(own.code).toBe(1);
    expect(own.stderr).toBe(bundle.stderr);
    expect(own.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: Input "compression": "rar" is not accepted/),
    ]);
    await expect(readdir(store)).rejects.toThrow(/ENOENT/);
  });

  it('backs up, verifies, restore-tests, restores and prunes, encrypted, as the bundle reads it', async () => {
    const identity = await generateIdentity();
    const files = {
      url: await secret('database-url', db.url),
      recipients: await secret('age-recipients', await identityToRecipient(identity)),
      identity: await secret('age-identity', identity),
      heartbeat: await secret('heartbeat-url', `${recorder.url}/ping/sea-heartbeat-secret`),
    };
    const store = path.join(dir, 'store');
    const set = ['--storage', store, '--name', 'sea'];
    const backup = await runProgram(exe, [
      'backup',
      ...set,
      '--database-url-file',
      files.url,
      '--age-recipients-file',
      files.recipients,
      '--heartbeat-url-file',
      files.heartbeat,
    ]);
    expect(backup.code, backup.stderr).toBe(0);
    const id = outputsOf(backup.stdout)['backup-id'];
    expect(id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(recorder.requests.map((r) => r.path)).toContain('/ping/sea-heartbeat-secret');
    expect(backup.stdout + backup.stderr).not.toContain(new URL(db.url).password);

    const manifest = JSON.parse(
      await readFile(path.join(store, 'sea', `${id}.manifest.json`), 'utf8'),
    ) as { encryption: string; tool: { name: string; version: string } };
    expect(manifest.encryption).toBe('age');
    const { name, version } = JSON.parse(await readFile('package.json', 'utf8')) as {
      name: string;
      version: string;
    };
    expect(manifest.tool).toEqual({ name, version });

    const withIdentity = ['--age-identity-file', files.identity];
    const verify = await runProgram(exe, ['verify-latest', ...set, ...withIdentity]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(outputsOf(verify.stdout)['latest-id']).toBe(id);
    // The bundle reads what the executable wrote, byte for byte.
    const byBundle = await runCli(['verify-latest', ...set, ...withIdentity]);
    expect(byBundle.code, byBundle.stderr).toBe(0);

    const counts = await tableRowCounts(db.url);
    const restoreTest = await runProgram(exe, ['restore-test', ...set, ...withIdentity], {
      BACKUP_ACTION_DATABASE_URL: testDatabaseUrl(),
    });
    expect(restoreTest.code, restoreTest.stderr).toBe(0);
    expect(Number(outputsOf(restoreTest.stdout)['restored-tables'])).toBe(
      Object.keys(counts).length,
    );

    const target = await freshDatabase('sea_target');
    try {
      const restore = await runProgram(
        exe,
        ['restore', ...set, ...withIdentity, '--confirm', target.name],
        { BACKUP_ACTION_DATABASE_URL: target.url },
      );
      expect(restore.code, restore.stderr).toBe(0);
      expect(await tableRowCounts(target.url)).toEqual(counts);
    } finally {
      await target.drop();
    }

    const prune = await runProgram(exe, ['retention-prune', ...set, '--keep-last', '1']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(outputsOf(prune.stdout)).toMatchObject({ kept: '1', deleted: '0' });
  });

  it('backs up a directory to S3 and verifies it deep', async () => {
    const tree = path.join(dir, 'tree');
    await mkdir(path.join(tree, 'sub'), { recursive: true });
    await writeFile(path.join(tree, 'a.txt'), 'alpha\n');
    await writeFile(path.join(tree, 'sub', 'b.txt'), 'beta\n'.repeat(1000));
    const s3 = [
      '--storage',
      `s3://${testS3Bucket()}/sea-${process.pid}`,
      '--name',
      'tree',
      '--s3-endpoint',
      testS3Endpoint(),
    ];
    const backup = await runProgram(
      exe,
      ['backup', ...s3, '--source', 'files', '--paths', tree],
      S3_ENV,
    );
    expect(backup.code, backup.stderr).toBe(0);
    const verify = await runProgram(exe, ['verify-latest', ...s3], S3_ENV);
    expect(verify.code, verify.stderr).toBe(0);
    expect(outputsOf(verify.stdout)['latest-id']).toBe(outputsOf(backup.stdout)['backup-id']);
  });

  it('notify reports a failure to a webhook and fails, as the bundle does', async () => {
    const before = recorder.requests.length;
    const hook = await secret('webhook-url', `${recorder.url}/hook/sea-webhook-secret`);
    const args = ['notify', '--name', 'sea', '--result', 'failure', '--webhook-url-file', hook];
    const run = await runProgram(exe, args);
    expect(run.code).toBe(1);
    const sent = recorder.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(['/hook/sea-webhook-secret']);
    expect(run.stdout + run.stderr).not.toContain('sea-webhook-secret');
  });

  it('has a .sha256 file that sha256sum -c accepts', async () => {
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
      execFile(
        'sha256sum',
        ['-c', `${path.basename(exe)}.sha256`],
        { cwd: path.dirname(exe) },
        (error, out) => (error ? reject(error) : resolve({ stdout: out })),
      ),
    );
    expect(stdout).toBe(`${path.basename(exe)}: OK\n`);
  });
});

/** qemu-user and Debian's arm64 libraries (.ci/run installs them). */
const emulates = ['/usr/bin/qemu-aarch64', '/usr/aarch64-linux-gnu/lib/libstdc++.so.6'].every(
  (file) => existsSync(file),
);

describe.skipIf(
  requireInCI(
    emulates
      ? undefined
      : 'no qemu-aarch64 or arm64 libraries (apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross)',
  ),
)('the arm64 executable', () => {
  let exe: string;

  beforeAll(async () => {
    exe = await executable('arm64');
  }, 600_000);

  it('is an aarch64 ELF program with the blob injected and its fuse set', async () => {
    const bytes = await readFile(exe);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(bytes[4]).toBe(2); // 64-bit
    expect(bytes.readUInt16LE(18)).toBe(183); // e_machine: EM_AARCH64
    expect(bytes.includes(`${SEA_FUSE}:1`)).toBe(true);
    expect(bytes.includes(`${SEA_FUSE}:0`)).toBe(false);
    expect(bytes.includes(SEA_RESOURCE)).toBe(true);
    // The blob holds the program itself.
    expect(bytes.includes('backup-action needs Node.js ')).toBe(true);
  });

  it("prints the bundle's --version under qemu-user", async () => {
    const run = await runProgram('qemu-aarch64', [
      '-L',
      '/usr/aarch64-linux-gnu',
      exe,
      '--version',
    ]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe((await runCli(['--version'])).stdout);
  });
});
