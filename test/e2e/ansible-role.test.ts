/**
 * examples/ansible: the playbook and its role run for real with ansible-playbook, on this machine
 * through a local connection, into a scratch root, with the executable of `npm run sea` as the
 * release it downloads and the packages this machine already has. Its services then run as
 * systemd would run them (test/support/systemd-unit.ts): a real backup to s3rver, verify-latest
 * and restore-test into the tests' PostgreSQL; a set encrypted with gpg (gnupg installed, its keys
 * credentials) backs up, verifies with its private key and decrypts by hand; its prune service
 * deletes what its policy does not keep. A second run changes nothing and, verbose, prints no
 * secret; sets with a secret input or an unverifiable encryption are refused; ansible-lint passes.
 *
 * Covers: examples/ansible, test/support/systemd-unit.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fillSampleDatabase, tableRowCounts } from '../../scripts/lib/sample-db.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { S3_ENV, testDatabaseUrl, testS3Bucket, testS3Endpoint } from '../support/env.js';
import { executable } from '../support/executables.js';
import { decryptByHand, makeTestKeys, type TestKey } from '../support/gpg.js';
import { filesUnder } from '../support/listing.js';
import { startRecorder, type Recorder } from '../support/recorder.js';
import { requireInCI } from '../support/require-in-ci.js';
import { runService } from '../support/systemd-unit.js';

const DIR = path.resolve('examples/ansible');
const UNITS = '/etc/systemd/system';

/** ansible-playbook and ansible-lint (Debian's ansible-core and ansible-lint; .ci/run installs them). */
const hasAnsible = ['ansible-playbook', 'ansible-lint'].every((program) => {
  try {
    execFileSync(program, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

interface Played {
  code: number;
  output: string;
  /** The PLAY RECAP's counts for the host. */
  recap: Record<string, number>;
}

/** Runs the example playbook against this machine with `vars` as extra variables. */
async function play(work: string, vars: object, options: string[] = []): Promise<Played> {
  const inventory = path.join(work, 'inventory.ini');
  await writeFile(
    inventory,
    `[databases]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n`,
  );
  const varsFile = path.join(work, 'vars.json');
  await writeFile(varsFile, JSON.stringify(vars), { mode: 0o600 });
  const args = ['-i', inventory, '-e', `@${varsFile}`, ...options, path.join(DIR, 'playbook.yml')];
  const env = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: path.join(work, 'tmp') };
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) =>
    execFile(
      'ansible-playbook',
      args,
      { env, timeout: 600_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? -1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
  const line = /^localhost\s+:\s+(.*)$/m.exec(output)?.[1] ?? '';
  const recap = Object.fromEntries(
    [...line.matchAll(/(\w+)=(\d+)/g)].map(([, key, n]) => [key, Number(n)]),
  );
  return { code, output, recap };
}

describe.skipIf(
  requireInCI(
    hasAnsible
      ? undefined
      : 'ansible-playbook or ansible-lint is not on PATH (apt-get install ansible-core ansible-lint)',
  ),
)('the Ansible role', () => {
  let exe: string;
  let work: string;
  let root: string;
  let db: FreshDatabase;
  let recorder: Recorder;
  let vars: Record<string, unknown>;
  let secrets: string[];
  let gpgKey: TestKey;
  const user = `ba-test-${randomBytes(3).toString('hex')}`;
  const prefix = `ansible-${process.pid}`;
  const unit = (name: string) => path.join(root, UNITS, name);
  const metricsFile = () => path.join(work, 'textfile', 'backup-action.prom');
  /** The gpg set's directory store, as the server's path (the services run outside the root). */
  const ledgerStore = () => path.join(work, 'ledger-store');

  beforeAll(async () => {
    let keys;
    [exe, work, db, recorder, keys] = await Promise.all([
      executable('x64'),
      mkdtemp(path.join(os.tmpdir(), 'ansible-test-')),
      freshDatabase('ansible_src'),
      startRecorder(),
      makeTestKeys(),
    ]);
    gpgKey = keys.protected;
    await fillSampleDatabase(db.url, { rows: 100 });
    // The services' user must reach the executable: the scratch root is open as / is.
    root = path.join(work, 'root');
    await mkdir(path.join(root, 'var', 'backups'), { recursive: true });
    await chmod(work, 0o755);
    const identity = await generateIdentity();
    const pgMajor = /(\d+)/.exec(execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }))?.[1];
    secrets = [
      new URL(db.url).password,
      identity,
      'heartbeat-secret-1',
      'heartbeat-secret-2',
      S3_ENV.AWS_SECRET_ACCESS_KEY,
      'heartbeat-secret-3',
      'prune-secret-access-key-7c1d',
      gpgKey.passphrase ?? '',
      // The armored private key's material, a line at a time (its short last lines excepted).
      ...gpgKey.secret.split('\n').filter((line) => line.length >= 40),
    ];
    vars = {
      backup_action_root: root,
      backup_action_url: `file://${exe}`,
      // What this machine has: the role leaves installed packages as they are.
      backup_action_packages: ['zstd', 'age', `postgresql-client-${pgMajor}`],
      backup_action_user: user,
      backup_action_metrics_file: metricsFile(),
      backup_action_sets: [
        {
          name: 'shop',
          storage: `s3://${testS3Bucket()}/${prefix}`,
          database_url: db.url,
          age_recipients: await identityToRecipient(identity),
          heartbeat_url: `${recorder.url}/ping/heartbeat-secret-1`,
          // Each backup copied off-site, the keys named by the URL and set in the environment.
          inputs: { 'copy-to': `s3://${testS3Bucket()}/${prefix}-offsite?credentials=OFFSITE` },
          environment: {
            ...S3_ENV,
            BACKUP_ACTION_S3_ENDPOINT: testS3Endpoint(),
            OFFSITE_ACCESS_KEY_ID: S3_ENV.AWS_ACCESS_KEY_ID,
            OFFSITE_SECRET_ACCESS_KEY: S3_ENV.AWS_SECRET_ACCESS_KEY,
          },
          verify: {
            inputs: { 'max-age': '1h' },
            age_identity: identity,
            scratch_database_url: testDatabaseUrl(),
            restore_test_inputs: { checks: 'public.customers >= 1\nselect 100 % 7 = 2' },
            heartbeat_url: `${recorder.url}/ping/heartbeat-secret-2`,
          },
        },
        {
          name: 'server',
          storage: '/var/backups/postgresql',
          database_url: db.url,
          inputs: { databases: 'all', globals: 'auto' },
          schedule: '*-*-* 01:30:00 UTC',
        },
        {
          name: 'ledger',
          storage: ledgerStore(),
          database_url: db.url,
          gpg_recipients: gpgKey.public,
          verify: { gpg_private_key: gpgKey.secret, gpg_passphrase: gpgKey.passphrase },
          prune: {
            inputs: { 'keep-last': 1 },
            schedule: 'Sun *-*-* 05:00:00 UTC',
            heartbeat_url: `${recorder.url}/ping/heartbeat-secret-3`,
            environment: {
              AWS_ACCESS_KEY_ID: 'prune-key-id',
              AWS_SECRET_ACCESS_KEY: 'prune-secret-access-key-7c1d',
            },
          },
        },
      ],
    };
  }, 600_000);

  afterAll(async () => {
    await Promise.all([db?.drop(), recorder?.close()]);
    await rm(work, { recursive: true, force: true });
    execFileSync('userdel', [user], { stdio: 'ignore' });
  });

  it('installs the executable, credentials, units and timers; a second run changes nothing', async () => {
    const first = await play(work, vars);
    expect(first.code, first.output).toBe(0);
    expect(first.recap.failed).toBe(0);
    expect(first.recap.changed).toBeGreaterThan(0);
    for (const secret of secrets) expect(first.output).not.toContain(secret);

    const installed = await readFile(path.join(root, 'usr/local/bin/backup-action'));
    expect(installed.equals(await readFile(exe))).toBe(true);
    expect((await lstat(path.join(root, 'usr/local/bin/backup-action'))).mode & 0o777).toBe(0o755);
    const credentials = path.join(root, 'etc/backup-action/shop');
    expect((await lstat(credentials)).mode & 0o777).toBe(0o700);
    for (const id of ['database-url', 'age-recipients', 'heartbeat-url', 'age-identity']) {
      const stat = await lstat(path.join(credentials, id));
      expect({ id, mode: stat.mode & 0o777, uid: stat.uid }).toEqual({ id, mode: 0o600, uid: 0 });
    }
    expect((await lstat(path.join(credentials, 'environment'))).mode & 0o777).toBe(0o600);
    const ledger = path.join(root, 'etc/backup-action/ledger');
    for (const id of [
      'gpg-recipients',
      'gpg-private-key',
      'gpg-passphrase',
      'prune-heartbeat-url',
      'prune-environment',
    ]) {
      const stat = await lstat(path.join(ledger, id));
      expect({ id, mode: stat.mode & 0o777, uid: stat.uid }).toEqual({ id, mode: 0o600, uid: 0 });
    }
    expect((await readFile(path.join(ledger, 'gpg-private-key'), 'utf8')).trim()).toBe(
      gpgKey.secret.trim(),
    );
    // gpg is installed with the other packages because a set uses it.
    const packages = (vars.backup_action_packages as string[]).join(', ');
    expect(first.output).toContain(`Install the packages ${packages}, gnupg]`);
    for (const timer of [
      'backup-action-backup-shop.timer',
      'backup-action-verify-server.timer',
      'backup-action-prune-ledger.timer',
    ]) {
      const link = path.join(root, UNITS, 'timers.target.wants', timer);
      expect(await readlink(link)).toBe(path.join(UNITS, timer));
    }
    // Only a set with a retention policy is pruned.
    expect(existsSync(unit('backup-action-prune-shop.service'))).toBe(false);
    const store = await lstat(path.join(root, 'var/backups/postgresql'));
    expect(store.mode & 0o777).toBe(0o700);
    expect(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()).toBe(String(store.uid));

    // -v prints each loop item's result: no loop may run over the sets themselves.
    const second = await play(work, vars, ['-v']);
    expect(second.code, second.output).toBe(0);
    expect(second.recap).toMatchObject({ changed: 0, failed: 0 });
    expect(second.output).toContain('backup-action-verify-server.timer');
    for (const secret of secrets) expect(second.output).not.toContain(secret);
  }, 900_000);

  it("names each host's example sets after the host, from inventory variables a host can override", async () => {
    const playbook = parse(await readFile(path.join(DIR, 'playbook.yml'), 'utf8')) as object[];
    // A play's vars: outrank host_vars, so per-host settings would be ignored.
    for (const entry of playbook) expect(Object.keys(entry)).not.toContain('vars');
    const other = path.join(work, 'example-root');
    const rest = { ...vars };
    delete rest.backup_action_sets;
    const vault = {
      vault_app_database_url: db.url,
      vault_server_database_url: db.url,
      vault_app_heartbeat_url: `${recorder.url}/ping/heartbeat-secret-1`,
      vault_app_verify_heartbeat_url: `${recorder.url}/ping/heartbeat-secret-2`,
      vault_app_age_identity: secrets[1],
      vault_aws_access_key_id: S3_ENV.AWS_ACCESS_KEY_ID,
      vault_aws_secret_access_key: S3_ENV.AWS_SECRET_ACCESS_KEY,
      vault_prune_aws_access_key_id: 'prune-key-id',
      vault_prune_aws_secret_access_key: 'prune-secret-access-key-7c1d',
      vault_app_prune_heartbeat_url: `${recorder.url}/ping/heartbeat-secret-3`,
      vault_offsite_access_key_id: 'offsite-key-id',
      vault_offsite_secret_access_key: 'offsite-secret-access-key-3e9a',
    };
    const run = await play(work, { ...rest, ...vault, backup_action_root: other });
    expect(run.code, run.output).toBe(0);
    // No set of the example uses gpg: nothing more than the packages asked for is installed.
    expect(run.output).toContain(
      `Install the packages ${(rest.backup_action_packages as string[]).join(', ')}]`,
    );
    const prune = await readFile(
      path.join(other, UNITS, 'backup-action-prune-localhost-app.service'),
      'utf8',
    );
    expect(prune).toContain('EnvironmentFile=/etc/backup-action/localhost-app/prune-environment\n');
    expect(
      await readFile(path.join(other, 'etc/backup-action/localhost-app/prune-environment'), 'utf8'),
    ).toContain('AWS_SECRET_ACCESS_KEY="prune-secret-access-key-7c1d"');
    for (const set of ['localhost-app', 'localhost-server']) {
      const service = await readFile(
        path.join(other, UNITS, `backup-action-backup-${set}.service`),
        'utf8',
      );
      expect(service).toContain(`--name ${set} `);
    }
  }, 600_000);

  it('writes units that systemd-analyze verify accepts, with the executable they run', async () => {
    const copy = path.join(work, 'units');
    await mkdir(copy, { recursive: true });
    const names = [
      ...['backup', 'verify'].flatMap((kind) =>
        ['shop', 'server', 'ledger'].map((set) => `${kind}-${set}`),
      ),
      'prune-ledger',
    ].flatMap((units) => ['service', 'timer'].map((type) => `backup-action-${units}.${type}`));
    for (const name of names) {
      const text = await readFile(unit(name), 'utf8');
      await writeFile(
        path.join(copy, name),
        text.replaceAll('/usr/local/bin/backup-action ', `${root}/usr/local/bin/backup-action `),
      );
    }
    const { stdout, stderr } = await promisify(execFile)(
      'systemd-analyze',
      ['verify', '--man=no', ...names.map((name) => path.join(copy, name))],
      { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'info' } },
    );
    expect(`${stdout}${stderr}`.trim()).toBe('');
    // The same sandbox as the hand-written units of examples/systemd.
    const example = await readFile('examples/systemd/backup-action-backup.service', 'utf8');
    const sandbox = example
      .split('\n')
      .filter((line) => /^(Protect|Private|NoNew|Restrict|Lock|Capability|CacheDir)/.test(line));
    expect(sandbox.length).toBeGreaterThan(10);
    for (const units of ['backup-shop', 'verify-shop', 'prune-ledger']) {
      const rendered = await readFile(unit(`backup-action-${units}.service`), 'utf8');
      expect(rendered.split('\n')).toEqual(expect.arrayContaining(sandbox));
    }
    const server = await readFile(unit('backup-action-backup-server.service'), 'utf8');
    // verify-latest and restore-test write their history records into the store too.
    for (const kind of ['backup', 'verify']) {
      const rendered = await readFile(unit(`backup-action-${kind}-server.service`), 'utf8');
      expect(rendered.split('\n')).toContain('ReadWritePaths=/var/backups/postgresql');
    }
    expect(server.split('\n')).toContain(`ReadWritePaths=${path.dirname(metricsFile())}`);
    // The staged metrics folder: the services' group may write it, and files made there keep it.
    const folder = await lstat(path.join(root, path.dirname(metricsFile())));
    expect(folder.mode & 0o7777).toBe(0o2775);
    expect(String(folder.gid)).toBe(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    expect(server).toContain('--databases "all"');
    expect(await readFile(unit('backup-action-backup-server.timer'), 'utf8')).toContain(
      'OnCalendar=*-*-* 01:30:00 UTC',
    );
    expect(await readFile(unit('backup-action-prune-ledger.timer'), 'utf8')).toContain(
      'OnCalendar=Sun *-*-* 05:00:00 UTC',
    );
    // Prune's own key is read after the set's environment, by the prune service alone.
    const prune = await readFile(unit('backup-action-prune-ledger.service'), 'utf8');
    expect(prune).toContain('EnvironmentFile=/etc/backup-action/ledger/prune-environment\n');
    for (const kind of ['backup', 'verify']) {
      const rendered = await readFile(unit(`backup-action-${kind}-ledger.service`), 'utf8');
      expect(rendered).not.toContain('prune-');
    }
  });

  it('runs a real backup through the installed backup service, then verifies and restore-tests it', async () => {
    // The live folder as the role makes the staged one: the services' group writes in it.
    await mkdir(path.dirname(metricsFile()), { recursive: true });
    execFileSync('chgrp', [user, path.dirname(metricsFile())]);
    await chmod(path.dirname(metricsFile()), 0o2775);
    // A host-wide preload in the manager's environment does not reach the executable.
    const backup = await runService(root, unit('backup-action-backup-shop.service'), {
      NODE_OPTIONS: `--require ${path.join(work, 'absent-preload.cjs')}`,
    });
    expect(
      backup.map((r) => r.code),
      backup.map((r) => r.stderr).join('\n'),
    ).toEqual([0]);
    const id = /^backup-id=(\S+)$/m.exec(backup[0]!.stdout)?.[1];
    expect(id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(recorder.requests.map((r) => r.path)).toContain('/ping/heartbeat-secret-1');
    // And copied off-site right after it was published.
    expect(backup[0]!.stdout).toMatch(
      new RegExp(`s3://${testS3Bucket()}/${prefix}-offsite +1 +0 +0 +1 +holds the newest`),
    );

    const verify = await runService(root, unit('backup-action-verify-shop.service'));
    expect(
      verify.map((r) => r.code),
      verify.map((r) => r.stderr).join('\n'),
    ).toEqual([0, 0]);
    expect(verify[0]!.stdout).toMatch(new RegExp(`^latest-id=${id}$`, 'm'));
    const tables = Object.keys(await tableRowCounts(db.url)).length;
    expect(verify[1]!.stdout).toMatch(new RegExp(`^restored-tables=${tables}$`, 'm'));
    expect(recorder.requests.map((r) => r.path)).toContain('/ping/heartbeat-secret-2');
    const metrics = await readFile(metricsFile(), 'utf8');
    for (const mode of ['backup', 'verify-latest', 'restore-test']) {
      expect(metrics).toContain(`backup_action_last_run_success{mode="${mode}",set="shop"} 1\n`);
    }
    for (const r of [...backup, ...verify]) {
      for (const secret of secrets) expect(r.stdout + r.stderr).not.toContain(secret);
    }
  }, 300_000);

  it('backs up with gpg through the installed service, verifies with the private key, and prunes', async () => {
    // The live store folder as the role makes the staged one: the services' user owns it.
    await mkdir(ledgerStore(), { recursive: true, mode: 0o700 });
    const ids = execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();
    await chown(ledgerStore(), Number(ids), Number(ids));
    const made: string[] = [];
    for (let n = 0; n < 2; n += 1) {
      // Backup ids name the second they were made in.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const backup = await runService(root, unit('backup-action-backup-ledger.service'));
      expect(
        backup.map((r) => r.code),
        backup.map((r) => r.stderr).join('\n'),
      ).toEqual([0]);
      made.push(/^backup-id=(\S+)$/m.exec(backup[0]!.stdout)?.[1] ?? '');
    }
    const stored = (await filesUnder(ledgerStore())).filter((file) => file.endsWith('.gpg'));
    expect(stored).toEqual(made.map((id) => `ledger/${id}.dump.zst.gpg`));
    // A person with the private key opens it with gpg and zstd: a pg_dump archive.
    const decrypted = await decryptByHand(path.join(ledgerStore(), stored[1]!), gpgKey);
    const archive = execFileSync('zstd', ['-d', '-c'], { input: decrypted });
    expect(archive.subarray(0, 5).toString()).toBe('PGDMP');

    const verify = await runService(root, unit('backup-action-verify-ledger.service'));
    expect(
      verify.map((r) => r.code),
      verify.map((r) => r.stderr).join('\n'),
    ).toEqual([0]);
    expect(verify[0]!.stdout).toMatch(new RegExp(`^latest-id=${made[1]}$`, 'm'));

    const prune = await runService(root, unit('backup-action-prune-ledger.service'));
    expect(
      prune.map((r) => r.code),
      prune.map((r) => r.stderr).join('\n'),
    ).toEqual([0]);
    expect(prune[0]!.stdout).toMatch(/^deleted=1$/m);
    expect(prune[0]!.stdout).toMatch(/^kept=1$/m);
    expect((await filesUnder(ledgerStore())).filter((file) => file.endsWith('.gpg'))).toEqual([
      stored[1],
    ]);
    expect(recorder.requests.map((r) => r.path)).toContain('/ping/heartbeat-secret-3');
    for (const r of [...verify, ...prune]) {
      for (const secret of secrets) expect(r.stdout + r.stderr).not.toContain(secret);
    }
  }, 300_000);

  it('installs nothing when the download does not match its sha256, and says so', async () => {
    const other = path.join(work, 'other-root');
    const run = await play(work, {
      ...vars,
      backup_action_root: other,
      backup_action_checksum: `sha256:${'0'.repeat(64)}`,
    });
    expect(run.code).not.toBe(0);
    expect(run.recap.failed).toBe(1);
    expect(run.output).toMatch(/checksum mismatch|did not match/i);
    expect(existsSync(path.join(other, 'usr/local/bin/backup-action'))).toBe(false);
    expect(existsSync(path.join(other, UNITS))).toBe(false);
  }, 600_000);

  it.each([
    [{ name: 'Shop!', storage: '/x' }, 'each name is one of [a-z0-9._-]+, and no two are alike'],
    [{ name: 'shop' }, 'missing required arguments: storage found in backup_action_sets'],
    [
      { name: 'shop', storage: '/x', verify: { inputs: { 'webhook-url': 'https://h.example/s' } } },
      'a secret input',
    ],
    [
      {
        name: 'shop',
        storage: '/x',
        age_recipients: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
      },
      'age_recipients is set, so verify.age_identity (the matching secret key) is required',
    ],
    [
      { name: 'shop', storage: '/x', gpg_recipients: 'keys/backups.asc' },
      'shop: gpg_recipients is set, so verify.gpg_private_key (the matching secret key) is required',
    ],
    [
      { name: 'shop', storage: '/x', prune: { schedule: 'daily' } },
      'missing required arguments: inputs',
    ],
    [
      { name: 'shop', storage: '/x', prune: { inputs: { 'keep-last': 3, 'heartbeat-url': 'x' } } },
      'a secret input',
    ],
  ])(
    'refuses a bad set (%j) before anything is written, naming what is wrong',
    async (set, says) => {
      const other = path.join(work, 'refused-root');
      const sets = [{ ...set, database_url: db.url }];
      const run = await play(work, {
        ...vars,
        backup_action_root: other,
        backup_action_sets: sets,
      });
      expect(run.recap).toMatchObject({ failed: 1, changed: 0 });
      expect(run.output).toContain(says);
      expect(run.output).not.toContain(new URL(db.url).password);
      expect(existsSync(other)).toBe(false);
    },
    300_000,
  );

  it("refuses in a set's inputs every input action.yml says to pass as a secret", async () => {
    const action = parse(await readFile('action.yml', 'utf8')) as {
      inputs: Record<string, { description: string }>;
    };
    const secret = Object.entries(action.inputs)
      .filter(([, input]) => /Pass it as a secret/.test(input.description))
      .map(([name]) => name);
    expect(secret).toEqual(expect.arrayContaining(['database-url', 'gpg-private-key']));
    const roleVars = parse(
      await readFile(path.join(DIR, 'roles/backup_action/vars/main.yml'), 'utf8'),
    ) as { backup_action_secret_inputs: string[] };
    expect(roleVars.backup_action_secret_inputs).toEqual(expect.arrayContaining(secret));
  });

  it('passes ansible-lint --strict with the production profile', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      'ansible-lint',
      ['--strict', '--nocolor'],
      {
        cwd: DIR,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    expect(`${stdout}${stderr}`).toMatch(
      /Passed with production profile: 0 failure\(s\), 0 warning\(s\)/,
    );
  });
});
