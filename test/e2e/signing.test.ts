/**
 * Signed backups end to end, with real `ssh-keygen` keys: a backup signed by the action is checked
 * by hand with `ssh-keygen -Y verify`; a signature `ssh-keygen -Y sign` made passes our check; and
 * every way to forge a backup in a store one can write (no signature, another key's, another
 * backup's, another namespace's, a manifest changed after signing) is refused by verify-latest,
 * restore-test, restore and copy, in one line naming the backup. Rotation: two public keys.
 *
 * Covers: src/core/ssh-keys.ts, src/core/sshsig.ts, src/core/ssh-wire.ts,
 * src/storage/signature.ts, src/inputs/signing.ts, src/pipeline/publish.ts, src/copy/backup.ts,
 * src/copy/compare.ts, src/kinds/any-store.ts, src/modes/copy.ts, src/modes/verify-latest.ts,
 * src/verify/stores.ts.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { lastErrorLine, runAction, type ActionRun } from '../support/action.js';
import { freshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';

const run = promisify(execFile);
const NAME = 'site';

let work: string;
let tree: string;
let store: string;
const keys: Record<'a' | 'b', { private: string; public: string; file: string }> = {
  a: { private: '', public: '', file: '' },
  b: { private: '', public: '', file: '' },
};
let made: ActionRun;
let id: string;

async function keyPair(which: 'a' | 'b'): Promise<void> {
  const file = path.join(work, `key-${which}`);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `key ${which}`, '-f', file]);
  keys[which] = {
    file,
    private: await readFile(file, 'utf8'),
    public: (await readFile(`${file}.pub`, 'utf8')).trim(),
  };
}

const manifestFile = (root: string, backup: string, name = NAME) =>
  path.join(root, name, `${backup}.manifest.json`);

function act(mode: string, root: string, inputs: Record<string, string> = {}) {
  return runAction({ mode, storage: root, name: NAME, ...inputs }, { cwd: tree });
}

/** `ssh-keygen -Y verify` of a manifest's signature, as a person would run it by hand. */
async function verifyByHand(root: string, backup: string, allowed: string, name = NAME) {
  const signers = path.join(work, 'allowed_signers');
  await writeFile(signers, `backup ${allowed}\n`);
  const manifest = manifestFile(root, backup, name);
  const args = ['-Y', 'verify', '-f', signers, '-I', 'backup', '-n', 'backup-action'];
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('ssh-keygen', [...args, '-s', `${manifest}.sig`]);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) => resolve({ code, out }));
    void readFile(manifest).then((bytes) => child.stdin.end(bytes));
  });
}

/** `ssh-keygen -Y sign`, as a person (or a forger holding a key) would sign a file. */
async function signByHand(file: string, keyFile: string, namespace: string): Promise<void> {
  await run('ssh-keygen', ['-Y', 'sign', '-q', '-n', namespace, '-f', keyFile, file]);
}

/** An id one second newer than `after`, as a forger picks to win `latest`. */
function newerId(after: string): string {
  const time = new Date(
    Date.UTC(
      Number(after.slice(0, 4)),
      Number(after.slice(4, 6)) - 1,
      Number(after.slice(6, 8)),
      Number(after.slice(9, 11)),
      Number(after.slice(11, 13)),
      Number(after.slice(13, 15)) + 1,
    ),
  );
  const stamp = time.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return `${stamp}-f0f0f0`;
}

/**
 * A forged copy of the store: the real backup, and a newer one made from it with its own id,
 * objects and rewritten manifest (its sha256 recomputed where it need be: here unchanged bytes).
 * `signature` says what lies beside the forged manifest.
 */
async function forgedStore(
  label: string,
  signature: (forged: string, root: string) => Promise<void>,
): Promise<{ root: string; forged: string }> {
  const root = path.join(work, `forged-${label}`);
  await cp(store, root, { recursive: true });
  const forged = newerId(id);
  const folder = path.join(root, NAME);
  for (const file of await readdir(folder)) {
    if (!file.startsWith(id) || file.endsWith('.sig') || file.endsWith('.manifest.json')) continue;
    await cp(path.join(folder, file), path.join(folder, file.replace(id, forged)));
  }
  const manifest = JSON.parse(await readFile(manifestFile(root, id), 'utf8')) as {
    createdAt: string;
    completedAt: string;
  };
  const time = `${forged.slice(0, 4)}-${forged.slice(4, 6)}-${forged.slice(6, 8)}T${forged.slice(9, 11)}:${forged.slice(11, 13)}:${forged.slice(13, 15)}.100Z`;
  const text = `${JSON.stringify({ ...manifest, createdAt: time, completedAt: time }, null, 2)}\n`;
  await writeFile(manifestFile(root, forged), text.replaceAll(id, forged));
  await signature(forged, root);
  return { root, forged };
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'signing-test-'));
  tree = path.join(work, 'tree');
  store = path.join(work, 'store');
  await mkdir(tree);
  await writeFile(path.join(tree, 'index.html'), '<p>signed</p>\n');
  await writeFile(path.join(tree, 'data.bin'), Buffer.alloc(50_000, 3));
  await Promise.all([keyPair('a'), keyPair('b')]);
  made = await act('backup', store, {
    source: 'files',
    paths: tree,
    compression: 'none',
    'signing-key': keys.a.private,
  });
  id = made.outputs['backup-id'] ?? '';
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a signed backup', () => {
  it('stores an SSH signature beside its manifest that ssh-keygen -Y verify accepts', async () => {
    expect(made.code, made.stdout).toBe(0);
    const hand = await verifyByHand(store, id, keys.a.public);
    expect(hand.code, hand.out).toBe(0);
    expect(hand.out).toMatch(/Good "backup-action" signature for backup with ED25519 key SHA256:/);
    const other = await verifyByHand(store, id, keys.b.public);
    expect(other.code).not.toBe(0);
  });

  it('names its signer in the summary and never shows the private key anywhere', () => {
    const fingerprint = made.summary.match(/good, by (SHA256:\S+)/)?.[1];
    expect(fingerprint).toBeDefined();
    const shown = made.everything
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    const material = keys.a.private.split('\n').filter((l) => l && !l.startsWith('-----'));
    expect(material.length).toBeGreaterThan(2);
    for (const line of material) {
      expect(shown).not.toContain(line);
      expect(made.stdout).toContain(`::add-mask::${line}`);
    }
  });

  it('passes verify-latest, restore-test and restore given its public key', async () => {
    const verified = await act('verify-latest', store, { 'signing-public-key': keys.a.public });
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.summary).toMatch(/Signature.*good, by SHA256:/);
    const tested = await act('restore-test', store, { 'signing-public-key': keys.a.public });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.summary).toMatch(/good, by SHA256:/);
    const target = path.join(work, 'restored');
    const restored = await act('restore', store, {
      'signing-public-key': keys.a.public,
      'target-path': target,
      confirm: target,
    });
    expect(restored.code, restored.stdout).toBe(0);
    expect(await readFile(path.join(target, 'index.html'), 'utf8')).toBe('<p>signed</p>\n');
  });

  it('is refused under a key that did not sign it, and accepted when that key is one of two (rotation)', async () => {
    const wrong = await act('verify-latest', store, { 'signing-public-key': keys.b.public });
    expect(wrong.code).not.toBe(0);
    expect(wrong.outputs['problem']).toBe('unsigned');
    expect(lastErrorLine(wrong)).toContain(
      `backup ${NAME}/${id} is refused: it is signed by SHA256:`,
    );
    const both = await act('verify-latest', store, {
      'signing-public-key': `# the new key\n${keys.b.public}\n${keys.a.public}`,
    });
    expect(both.code, both.stdout).toBe(0);
  });

  it('is read as before by a reader given no public key', async () => {
    const verified = await act('verify-latest', store);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.summary).not.toContain('Signature');
  });

  it('verifies a signature ssh-keygen -Y sign made of its manifest', async () => {
    const root = path.join(work, 'by-ssh-keygen');
    await cp(store, root, { recursive: true });
    await rm(`${manifestFile(root, id)}.sig`);
    await signByHand(manifestFile(root, id), keys.b.file, 'backup-action');
    const verified = await act('verify-latest', root, { 'signing-public-key': keys.b.public });
    expect(verified.code, verified.stdout).toBe(0);
  });

  it('fails verify-latest when its copy in another store lacks the signature', async () => {
    const other = path.join(work, 'copy-unsigned');
    await cp(store, other, { recursive: true });
    await rm(`${manifestFile(other, id)}.sig`);
    const verified = await act('verify-latest', `${store}\n${other}`, {
      'signing-public-key': keys.a.public,
    });
    expect(verified.code).not.toBe(0);
    expect(verified.outputs['problem']).toBe('unsigned');
    expect(lastErrorLine(verified)).toContain(`backup ${NAME}/${id} is refused: it is not signed`);
    const both = await act('verify-latest', `${store}\n${other}`);
    expect(both.code, both.stdout).toBe(0);
  });

  it('is copied with its signature byte for byte, and the copy verifies on its own', async () => {
    const other = path.join(work, 'copy');
    const copied = await act('copy', store, {
      'copy-to': other,
      'signing-public-key': keys.a.public,
    });
    expect(copied.code, copied.stdout).toBe(0);
    const signature = `${NAME}/${id}.manifest.json.sig`;
    expect(await readFile(path.join(other, signature))).toEqual(
      await readFile(path.join(store, signature)),
    );
    const hand = await verifyByHand(other, id, keys.a.public);
    expect(hand.code, hand.out).toBe(0);
  });
});

describe('a forged backup, newer than the signed one', () => {
  const forgeries: [string, (forged: string, root: string) => Promise<void>, RegExp][] = [
    ['with no signature', async () => undefined, /it is not signed \(no .*\.sig\)/],
    [
      'signed by another key',
      async (forged, root) => {
        await signByHand(manifestFile(root, forged), keys.b.file, 'backup-action');
      },
      /it is signed by SHA256:\S+, which is not among signing-public-key/,
    ],
    [
      'signed by the right key for another namespace',
      async (forged, root) => {
        await signByHand(manifestFile(root, forged), keys.a.file, 'file');
      },
      /its signature is for "file", not for backup-action/,
    ],
    [
      'carrying the signature of the real backup',
      async (forged, root) => {
        await cp(`${manifestFile(root, id)}.sig`, `${manifestFile(root, forged)}.sig`);
      },
      /its signature by SHA256:\S+ does not match its manifest/,
    ],
    [
      'with garbage for a signature',
      async (forged, root) => {
        await writeFile(`${manifestFile(root, forged)}.sig`, 'not a signature\n');
      },
      /its signature is unreadable/,
    ],
  ];

  for (const [label, sign, reason] of forgeries) {
    it(`${label}: refused by verify-latest, restore-test, restore and copy in one line naming it`, async () => {
      const { root, forged } = await forgedStore(label.replace(/\W+/g, '-'), sign);
      const trust = { 'signing-public-key': keys.a.public };
      const named = `backup ${NAME}/${forged} is refused: `;
      const verified = await act('verify-latest', root, trust);
      expect(verified.code).not.toBe(0);
      expect(verified.outputs['problem']).toBe('unsigned');
      expect(lastErrorLine(verified)).toContain(named);
      expect(lastErrorLine(verified)).toMatch(reason);
      // latest is the forged one: never an older backup in its place, without a word.
      const tested = await act('restore-test', root, trust);
      expect(tested.code).not.toBe(0);
      expect(lastErrorLine(tested)).toContain(named);
      const target = path.join(root, '..', `target-${forged}-${label.length}`);
      const restored = await act('restore', root, {
        ...trust,
        'target-path': target,
        confirm: target,
      });
      expect(restored.code).not.toBe(0);
      expect(lastErrorLine(restored)).toMatch(reason);
      await expect(readdir(target)).rejects.toThrow();
      const other = `${root}-copy`;
      const copied = await act('copy', root, { ...trust, 'copy-to': other });
      expect(copied.code).not.toBe(0);
      expect(lastErrorLine(copied)).toContain(named);
      expect(await readdir(path.join(other, NAME))).not.toContain(`${forged}.manifest.json`);
      expect(await readdir(path.join(other, NAME))).toContain(`${id}.manifest.json`);
    }, 60_000);
  }

  it('without a public key, a forgery passes, as before: signing is what tells them apart', async () => {
    const { root, forged } = await forgedStore('unchecked', async () => undefined);
    const verified = await act('verify-latest', root);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.outputs['latest-id']).toBe(forged);
  });
});

describe('a signed manifest changed after signing', () => {
  it('is refused, even by one space', async () => {
    const root = path.join(work, 'altered');
    await cp(store, root, { recursive: true });
    const text = await readFile(manifestFile(root, id), 'utf8');
    await writeFile(manifestFile(root, id), text.replace('{', '{ '));
    const verified = await act('verify-latest', root, { 'signing-public-key': keys.a.public });
    expect(verified.code).not.toBe(0);
    expect(lastErrorLine(verified)).toMatch(
      new RegExp(
        `backup ${NAME}/${id} is refused: its signature by SHA256:\\S+ does not match its manifest`,
      ),
    );
    const hand = await verifyByHand(root, id, keys.a.public);
    expect(hand.code).not.toBe(0);
  });
});

describe('keys that cannot be used', () => {
  it('refuses a passphrase-protected key in one line naming signing-key, before any work', async () => {
    const file = path.join(work, 'key-locked');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', file]);
    const root = path.join(work, 'locked-store');
    const refused = await act('backup', root, {
      source: 'files',
      paths: tree,
      'signing-key': await readFile(file, 'utf8'),
    });
    expect(refused.code).not.toBe(0);
    expect(lastErrorLine(refused)).toMatch(/Input "signing-key": is protected by a passphrase/);
    await expect(readdir(root)).rejects.toThrow();
  });

  it('refuses an RSA key, and a private key given as a public one, without quoting it', async () => {
    const file = path.join(work, 'key-rsa');
    await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', file]);
    const rsa = await act('backup', path.join(work, 'rsa-store'), {
      source: 'files',
      paths: tree,
      'signing-key': await readFile(file, 'utf8'),
    });
    expect(lastErrorLine(rsa)).toMatch(
      /Input "signing-key": is a ssh-rsa key; only Ed25519 keys sign backups/,
    );
    const pasted = await act('verify-latest', store, { 'signing-public-key': keys.a.private });
    expect(pasted.code).not.toBe(0);
    expect(lastErrorLine(pasted)).toMatch(/Input "signing-public-key": holds a private key/);
    const body = keys.a.private.split('\n')[1] ?? 'missing';
    expect(pasted.everything).not.toContain(body);
  });

  it('refuses signing-key given to a mode that does not write, and signing-public-key given to backup, as unused', async () => {
    const verified = await act('verify-latest', store, { 'signing-key': keys.a.private });
    expect(verified.code).not.toBe(0);
    expect(lastErrorLine(verified)).toBe(
      'Input "signing-key": is not used by mode verify-latest; remove it',
    );
    const unused = path.join(work, 'unused-store');
    const backup = await act('backup', unused, {
      source: 'files',
      paths: tree,
      'signing-public-key': keys.a.public,
    });
    expect(backup.code).not.toBe(0);
    expect(lastErrorLine(backup)).toBe(
      'Input "signing-public-key": is not used by mode backup with source files; remove it',
    );
    await expect(readdir(unused)).rejects.toThrow();
  });
});

describe('a signed PostgreSQL backup (signing is the same for every kind)', () => {
  it('is signed as it is published, and restore-tested only under its key', async () => {
    const db = await freshDatabase('signed');
    try {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50) g');
      await client.end();
      const root = path.join(work, 'pg-store');
      const inputs = { storage: root, name: 'pg', 'database-url': db.url };
      const made = await runAction({ ...inputs, mode: 'backup', 'signing-key': keys.b.private });
      expect(made.code, made.stdout).toBe(0);
      const backup = made.outputs['backup-id'] ?? '';
      const hand = await verifyByHand(root, backup, keys.b.public, 'pg');
      expect(hand.code, hand.out).toBe(0);
      const scratch = { ...inputs, mode: 'restore-test', 'database-url': testDatabaseUrl() };
      const tested = await runAction({ ...scratch, 'signing-public-key': keys.b.public });
      expect(tested.code, tested.stdout).toBe(0);
      expect(tested.outputs['restored-tables']).toBe('1');
      const refused = await runAction({ ...scratch, 'signing-public-key': keys.a.public });
      expect(refused.code).not.toBe(0);
      expect(lastErrorLine(refused)).toContain(`backup pg/${backup} is refused: it is signed by`);
    } finally {
      await db.drop();
    }
  }, 120_000);
});
