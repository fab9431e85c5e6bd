/**
 * One shape for every source: an input the mode (or the backup's source) never reads is named in
 * one warning line, whatever the mode and kind; the runner's defaults are not; the notification
 * inputs are read alone for a run refused for bad input; a pasted private key is masked and never
 * quoted.
 *
 * Covers: src/inputs/reader.ts, src/inputs/names.ts, src/modes/index.ts, src/inputs/backup.ts,
 * src/inputs/common.ts,
 * src/inputs/restore.ts, src/inputs/given-secrets.ts, src/inputs/cli-args.ts,
 * src/core/secret-shapes.ts.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { holdsPrivateKey } from '../../src/core/secret-shapes.js';
import { parseArgs, UsageError } from '../../src/inputs/cli-args.js';
import { givenSecrets } from '../../src/inputs/given-secrets.js';
import { INPUT_DEFAULTS, type InputName } from '../../src/inputs/names.js';
import { readRefusalNotice, readRun } from '../../src/modes/index.js';
import { DB, IDENTITY } from '../support/bad-inputs.js';

const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const source = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';
const unused = async (inputs: Record<string, string>) =>
  (await readRun(source(inputs), '/work')).unused;
/** What the runner sets for every input that has a default, before the workflow's own values. */
const RUNNER_DEFAULTS: Record<string, string> = { ...INPUT_DEFAULTS };

/** The one line a run is refused with, or undefined when it is not. */
const refused = async (inputs: Record<string, string>, shared?: (name: string) => boolean) =>
  readRun(source(inputs), '/work', {}, shared).then(
    () => undefined,
    (error: unknown) => (error instanceof InputError ? error.message : String(error)),
  );

describe('inputs a mode does not read', () => {
  it('are refused in one line naming the input, the mode and the source', async () => {
    const backup = { storage: '/b', 'database-url': DB };
    expect(await refused({ ...backup, 'max-age': '3d', 'keep-last': '7' })).toBe(
      'Input "max-age": is not used by mode backup with source postgres; remove it',
    );
    expect(await refused({ ...backup, exclude: '*.tmp' })).toBe(
      'Input "exclude": is not used by mode backup with source postgres; remove it',
    );
    expect(await refused(backup)).toBeUndefined();
  });

  it('the copy inputs: refused where nothing is copied; copy-to refused where nothing copies', async () => {
    expect(await refused({ storage: '/b', 'database-url': DB, 'copy-check': 'sha256' })).toBe(
      'Input "copy-check": is not used by mode backup with source postgres; remove it',
    );
    expect(
      await refused({ mode: 'restore-test', storage: '/b', name: 'x', 'copy-last': '2' }),
    ).toBe('Input "copy-last": is not used by mode restore-test; remove it');
    for (const mode of ['verify-latest', 'restore-test', 'retention-prune', 'restore']) {
      expect(await refused({ mode, storage: '/b', name: 'x', 'copy-to': '/c' }), mode).toMatch(
        /^Input "copy-to": is for backup and copy/,
      );
    }
  });

  it('the same mechanism for every source and mode: files, redis, verify-latest, notify', async () => {
    const files = { storage: '/b', source: 'files', paths: '/srv', 'row-counts': 'off' };
    expect(await refused(files)).toBe(
      'Input "row-counts": is not used by mode backup with source files; remove it',
    );
    const redis = { storage: '/b', source: 'redis', 'redis-url': 'redis://cache:6379', jobs: '4' };
    expect(await refused(redis)).toBe(
      'Input "jobs": is not used by mode backup with source redis; remove it',
    );
    const verify = { mode: 'verify-latest', storage: '/b', name: 'x', 'age-recipients': RECIPIENT };
    expect(await refused(verify)).toBe(
      'Input "age-recipients": is not used by mode verify-latest; remove it',
    );
    const notify = { mode: 'notify', name: 'x', storage: '/b', 'webhook-url': 'https://h.example' };
    expect(await refused(notify)).toBe('Input "storage": is not used by mode notify; remove it');
  });

  it('the PostgreSQL client inputs are refused for sources that run no PostgreSQL program', async () => {
    const client = {
      'pg-bin-dir': '/nonexistent/bin',
      'postgres-client': '16',
      'pg-client-mirror': 'https://x.example',
    };
    for (const [name, value] of Object.entries(client)) {
      expect(await refused({ storage: '/b', source: 'files', paths: '/srv', [name]: value })).toBe(
        `Input "${name}": is not used by mode backup with source files; remove it`,
      );
    }
    const restore = { mode: 'restore', storage: '/b', name: 'x', 'target-path': '/srv' };
    expect(await refused({ ...restore, confirm: '/srv', 'postgres-client': '16' })).toBe(
      'Input "postgres-client": is not used by mode restore; remove it',
    );
  });

  // F7 of the hostile review: a restore into a folder or a Redis took jobs and
  // restore-database-settings without a word.
  it("pg_restore's inputs are refused with a restore into target-path or redis-url", async () => {
    const restore = { mode: 'restore', storage: '/b', name: 'x' };
    const path = { ...restore, 'target-path': '/srv', confirm: '/srv' };
    const redis = { ...restore, 'redis-url': 'redis://cache:6379', confirm: 'cache:6379' };
    expect(await refused({ ...path, jobs: '4' })).toBe(
      'Input "jobs": is not used by mode restore (target-path runs no pg_restore); remove it',
    );
    expect(await refused({ ...redis, 'restore-database-settings': 'false' })).toBe(
      'Input "restore-database-settings": is not used by mode restore (redis-url runs no pg_restore); remove it',
    );
    expect(await refused({ ...path, 'keep-database': 'true' })).toBe(
      'Input "keep-database": is not used by mode restore; remove it',
    );
    expect(
      await refused({ ...path, jobs: '', 'restore-database-settings': 'true' }),
    ).toBeUndefined();
  });

  it('clean and target-database are refused by restore-test, which restores into scratch databases', async () => {
    const test = { mode: 'restore-test', storage: '/b', name: 'x', 'database-url': DB };
    const why =
      'restore-test restores into new scratch databases it names and drops (keep-database: true keeps them)';
    expect(await refused({ ...test, clean: 'true' })).toBe(
      `Input "clean": is not used by mode restore-test (${why}); remove it`,
    );
    expect(await refused({ ...test, 'target-database': 'shop_copy' })).toBe(
      `Input "target-database": is not used by mode restore-test (${why}); remove it`,
    );
    expect(await refused({ ...test, clean: 'false' })).toBeUndefined();
  });

  it('compression-level with compression: none says why it is not used', async () => {
    const files = { storage: '/b', source: 'files', paths: '/srv', compression: 'none' };
    expect(await refused({ ...files, 'compression-level': '19' })).toBe(
      'Input "compression-level": is not used by mode backup with source files (compression: none); remove it',
    );
  });

  it('allow-privileged-roles without restore-globals says why it is not used', async () => {
    const test = { mode: 'restore-test', storage: '/b', name: 'x', 'database-url': DB };
    expect(await refused({ ...test, 'allow-privileged-roles': 'true' })).toBe(
      'Input "allow-privileged-roles": is not used by mode restore-test (restore-globals is false); remove it',
    );
    expect(
      await refused({ ...test, 'restore-globals': 'true', 'allow-privileged-roles': 'true' }),
    ).toBeUndefined();
    const restore = { ...test, mode: 'restore', confirm: 'x', 'allow-privileged-roles': 'true' };
    expect(await refused(restore)).toBe(
      'Input "allow-privileged-roles": is not used by mode restore (restore-globals is false); remove it',
    );
  });

  it("the runner's defaults, and empty values, are not refused", async () => {
    const given = { ...RUNNER_DEFAULTS, storage: '/b', 'database-url': DB, paths: '  ' };
    expect(await unused(given)).toEqual([]);
    const verify = { ...RUNNER_DEFAULTS, mode: 'verify-latest', storage: '/b', name: 'x' };
    expect(await unused(verify)).toEqual([]);
  });

  it('a decrypting key beside one that encrypts is refused as unused', async () => {
    const inputs = { storage: '/b', 'database-url': DB, 'age-recipients': RECIPIENT };
    expect(await refused({ ...inputs, 'age-identity': IDENTITY })).toBe(
      'Input "age-identity": is not used by mode backup with source postgres; remove it',
    );
  });

  // A host's services share one environment file (examples/ansible: the set's BACKUP_ACTION_*
  // variables, read by backup, verify and prune alike): a variable one mode does not use is named.
  it('from the environment every service shares: named in one warning each, not refused', async () => {
    const inputs = {
      mode: 'retention-prune',
      storage: '/b',
      name: 'x',
      'keep-last': '3',
      'encryption-passphrase': 'shared secret',
      'max-age': '3d',
    };
    const shared = (name: string) => name === 'encryption-passphrase';
    expect(await refused(inputs, shared)).toBe(
      'Input "max-age": is not used by mode retention-prune; remove it',
    );
    const read = await readRun(source({ ...inputs, 'max-age': '' }), '/work', {}, shared);
    expect(read.unused).toEqual([
      'input "encryption-passphrase" from the environment is not used by mode retention-prune; ignored',
    ]);
  });
});

describe('refused before any work, one line naming the input', () => {
  const refusal = async (inputs: Record<string, string>) =>
    readRun(source(inputs), '/work').then(
      () => undefined,
      (error: unknown) => error,
    );

  it('age-identity to a backup says how to encrypt', async () => {
    const error = await refusal({ storage: '/b', 'database-url': DB, 'age-identity': IDENTITY });
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      'Input "age-identity": decrypts; to encrypt backups give age-recipients (its public key, age1…) or encryption-passphrase',
    );
  });

  it('a private key in age-recipients is named as one, never quoted', async () => {
    for (const key of [IDENTITY, IDENTITY.toLowerCase(), `  ${IDENTITY}  `]) {
      const error = await refusal({
        storage: '/b',
        'database-url': DB,
        'age-recipients': `# team\n${RECIPIENT}\n${key}`,
      });
      expect((error as Error).message).toBe(
        'Input "age-recipients": line 2 is a private key (AGE-SECRET-KEY-…); give its public recipient (age1…), as age-keygen -y prints it',
      );
    }
  });

  it('age-recipients of comments only is refused, not read as no encryption', async () => {
    for (const comments of ['# prod key', `# ${RECIPIENT}\n\n  # rotated out`]) {
      const error = await refusal({
        storage: '/b',
        'database-url': DB,
        'age-recipients': comments,
      });
      expect((error as Error).message).toBe(
        'Input "age-recipients": holds no recipient, only blank or # comment lines; give public keys starting with age1, or remove the input',
      );
    }
  });

  it('a PostgreSQL client input with source: redis is refused like the other postgres inputs', async () => {
    const redis = { storage: '/b', source: 'redis', 'redis-url': 'redis://cache:6379' };
    for (const [name, value] of [
      ['pg-bin-dir', '/usr/lib/postgresql/17/bin'],
      ['postgres-client', '16'],
      ['pg-client-mirror', 'https://x.example'],
    ] as const) {
      const error = await refusal({ ...redis, [name]: value });
      expect((error as Error).message).toBe(
        `Input "${name}": is for source: postgres; remove it with source: redis`,
      );
    }
    expect(
      await refusal({ ...RUNNER_DEFAULTS, ...redis, 'age-recipients': RECIPIENT }),
    ).toBeUndefined();
  });

  it('target-path with database-url names the conflict', async () => {
    const error = await refusal({
      mode: 'restore',
      storage: '/b',
      'database-url': DB,
      'target-path': '/srv/site',
      confirm: '/srv/site',
    });
    expect((error as Error).message).toBe(
      'Input "target-path": and database-url are both given; give the one target to restore into',
    );
  });
});

describe('a pasted private key', () => {
  it('is masked whichever input it came in, whole, in any case', () => {
    const secrets = givenSecrets(
      source({
        'age-recipients': `${RECIPIENT}\n${IDENTITY}`,
        name: IDENTITY.toLowerCase(),
      }) as (name: InputName) => string,
    );
    expect(secrets).toEqual(expect.arrayContaining([IDENTITY, IDENTITY.toLowerCase()]));
    expect(secrets).not.toContain(RECIPIENT);
  });

  it('is recognised in its shapes, and a public key is not', () => {
    expect(holdsPrivateKey(IDENTITY)).toBe(true);
    expect(holdsPrivateKey(`x=${IDENTITY.toLowerCase()}`)).toBe(true);
    expect(holdsPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe(true);
    expect(holdsPrivateKey(RECIPIENT)).toBe(false);
  });

  // The hostile review's F6: `--name db_AGE-SECRET-KEY-1…` was printed whole, a word boundary
  // being required before the key.
  it('is found glued to a word, and masked whole', () => {
    const glued = `db_${IDENTITY}`;
    expect(holdsPrivateKey(glued)).toBe(true);
    expect(holdsPrivateKey(`backup2${IDENTITY.toLowerCase()}`)).toBe(true);
    const secrets = givenSecrets(source({ name: glued }) as (name: InputName) => string);
    expect(secrets).toContain(IDENTITY);
  });

  it('is not echoed by the command line’s usage errors', () => {
    const usage = (argv: string[]) => {
      try {
        parseArgs(argv, () => '');
      } catch (error) {
        return error as Error;
      }
      return undefined;
    };
    for (const argv of [
      ['backup', IDENTITY],
      ['backup', `--${IDENTITY.toLowerCase()}`, 'x'],
      [IDENTITY.toLowerCase()],
    ]) {
      const error = usage(argv);
      expect(error).toBeInstanceOf(UsageError);
      expect(error?.message).toContain('a private key (not shown)');
      expect(error?.message.toUpperCase()).not.toContain(IDENTITY.slice(15, 30));
    }
  });
});

describe('the notice of a refused run', () => {
  it('reads the notification inputs and the name alone, whatever else is bad', () => {
    const notice = readRefusalNotice(
      source({ name: 'shop', compression: 'lz4', 'webhook-url': 'https://hooks.example/x' }),
      '/work',
    );
    expect(notice).toMatchObject({
      name: 'shop',
      notify: { on: 'failure', webhookUrl: 'https://hooks.example/x' },
    });
    expect(
      readRefusalNotice(source({ name: 'Bad Name!', 'webhook-url': 'https://h.x/y' })),
    ).toMatchObject({ name: undefined, notify: { webhookUrl: 'https://h.x/y' } });
  });

  it('keeps the readable channels when notification inputs are bad themselves, notify-on as always', () => {
    const notice = readRefusalNotice(
      source({
        'notify-on': 'bogus',
        'webhook-url': 'https://hooks.example/x',
        'slack-webhook-url': 'not a url',
        'failure-issue': 'maybe',
      }),
      '/work',
    );
    expect(notice.notify).toMatchObject({
      on: 'always',
      webhookUrl: 'https://hooks.example/x',
      slackWebhookUrl: undefined,
      failureIssue: false,
    });
    expect(readRefusalNotice(source({ 'webhook-url': 'not a url' })).notify.webhookUrl).toBe(
      undefined,
    );
  });
});
