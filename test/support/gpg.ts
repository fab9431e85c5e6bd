/**
 * OpenPGP keys made for a test with the real gpg (`--quick-gen-key`) in a throwaway home, and the
 * things a person does with gpg by hand: decrypt a stored file, encrypt one with --symmetric.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TestKey {
  uid: string;
  fingerprint: string;
  /** Armored public key. */
  public: string;
  /** Armored private key (with its passphrase, if any). */
  secret: string;
  passphrase?: string;
}

export interface TestKeys {
  /** Certify and sign, with a cv25519 encryption subkey; no passphrase. */
  plain: TestKey;
  /** The same shape, protected by a passphrase. */
  protected: TestKey;
  /** A key that encrypted nothing here: its secret opens none of the backups. */
  other: TestKey;
  /** Made and expired in 2020. */
  expired: TestKey;
  /** Signs only: no encryption subkey. */
  signOnly: TestKey;
  /** Made three days ahead of this machine's clock, as a machine whose clock is ahead makes one. */
  future: TestKey;
  /** `plain`'s private key with its encryption subkey's secret missing (a stub, as a card leaves). */
  plainStub: string;
}

/** Runs gpg in `home` with `input` on stdin; returns its stdout. */
export function gpgIn(
  home: string,
  args: string[],
  input: string | Buffer = '',
  passphrase?: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const withPassphrase = passphrase === undefined ? [] : ['--passphrase-fd', '3'];
    const child = spawn(
      'gpg',
      [
        '--homedir',
        home,
        '--batch',
        '--no-tty',
        '--pinentry-mode',
        'loopback',
        ...withPassphrase,
        ...args,
      ],
      { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] },
    );
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`gpg ${args.join(' ')} exited with ${code}: ${err}`)),
    );
    const fd3 = child.stdio[3] as NodeJS.WritableStream;
    // gpg reads neither when it needs neither: its exit says how it went.
    fd3.on('error', () => undefined);
    child.stdin.on('error', () => undefined);
    fd3.end(passphrase === undefined ? '' : `${passphrase}\n`);
    child.stdin.end(input);
  });
}

/** A throwaway GNUPGHOME; `close` stops its agent and removes it. */
export async function throwawayHome(): Promise<{ dir: string; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'test-gnupg-'));
  return {
    dir,
    async close() {
      await exec('gpgconf', ['--homedir', dir, '--kill', 'gpg-agent']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function makeKey(
  home: string,
  uid: string,
  options: { passphrase?: string; expired?: boolean; future?: boolean; encrypts?: boolean } = {},
): Promise<TestKey> {
  const pass = options.passphrase ?? '';
  // Frozen (!), so that the subkey is never made a second before its primary key.
  const when = options.expired
    ? ['--faked-system-time', '20200101T000000!']
    : options.future
      ? ['--faked-system-time', `${inThreeDays()}!`]
      : [];
  await gpgIn(home, [...when, '--quick-gen-key', uid, 'ed25519', 'cert,sign', '1y'], '', pass);
  const listing = (await gpgIn(home, [...when, '--with-colons', '--list-keys', uid])).toString();
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1] ?? '';
  if (options.encrypts !== false) {
    await gpgIn(home, [...when, '--quick-add-key', fingerprint, 'cv25519', 'encr', '1y'], '', pass);
  }
  return {
    uid,
    fingerprint,
    public: (await gpgIn(home, ['--armor', '--export', fingerprint])).toString(),
    secret: (
      await gpgIn(home, ['--armor', '--export-secret-keys', fingerprint], '', pass)
    ).toString(),
    ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
  };
}

/** Three days from now, as gpg's --faked-system-time reads it (yyyymmddThhmmss). */
const inThreeDays = (): string =>
  new Date(Date.now() + 3 * 86_400_000).toISOString().replace(/[-:]/g, '').slice(0, 15);

/** `key`'s private key exported after its encryption subkey's secret was deleted from `home`. */
async function withoutSubkeySecret(home: string, key: TestKey): Promise<string> {
  const listing = (await gpgIn(home, ['--with-colons', '--list-keys', key.fingerprint])).toString();
  const subkey = [...listing.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].at(-1)?.[1] ?? '';
  if (subkey === key.fingerprint) throw new Error(`${key.uid} has no subkey`);
  await gpgIn(home, ['--yes', '--delete-secret-keys', `${subkey}!`]);
  return (await gpgIn(home, ['--armor', '--export-secret-keys', key.fingerprint])).toString();
}

/** Every key a test needs, made anew. */
export async function makeTestKeys(): Promise<TestKeys> {
  const home = await throwawayHome();
  try {
    const plain = await makeKey(home.dir, 'Backups <backups@example.com>');
    return {
      plain,
      plainStub: await withoutSubkeySecret(home.dir, plain),
      protected: await makeKey(home.dir, 'Protected <protected@example.com>', {
        passphrase: 'gpg-test-passphrase-5b1e',
      }),
      other: await makeKey(home.dir, 'Other <other@example.com>'),
      expired: await makeKey(home.dir, 'Expired <expired@example.com>', { expired: true }),
      signOnly: await makeKey(home.dir, 'Signer <signer@example.com>', { encrypts: false }),
      future: await makeKey(home.dir, 'Ahead <ahead@example.com>', { future: true }),
    };
  } finally {
    await home.close();
  }
}

/** `gpg --decrypt FILE` as a person runs it, with `key` imported into their keyring. */
export async function decryptByHand(file: string, key: TestKey): Promise<Buffer> {
  const home = await throwawayHome();
  try {
    await gpgIn(home.dir, ['--import'], key.secret);
    return await gpgIn(home.dir, ['--decrypt', file], '', key.passphrase);
  } finally {
    await home.close();
  }
}

/** `gpg --symmetric --cipher-algo AES256` of `plain`, with `passphrase`. */
export async function encryptSymmetric(plain: Buffer, passphrase: string): Promise<Buffer> {
  const home = await throwawayHome();
  try {
    return await gpgIn(home.dir, ['--symmetric', '--cipher-algo', 'AES256'], plain, passphrase);
  } finally {
    await home.close();
  }
}

/** The product's temporary homes left in `dir` (there must be none once a run ended). */
export async function homesLeftIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('backup-action-gpg-'));
}

/** gpg-agent and dirmngr processes still running whose home is under `dir`. */
export async function agentsUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const [cmdline, stat] = await Promise.all([
      readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
      readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''),
    ]);
    const args = cmdline.split('\0').join(' ');
    // A zombie has exited; only its parent's wait is missing.
    const state = / \(.*\) (\S)/.exec(stat)?.[1];
    if (/gpg-agent|dirmngr/.test(args) && args.includes(dir) && state !== 'Z') found.push(args);
  }
  return found;
}
