/**
 * SSHSIG signatures and the keys that make them, as pure logic: what signs verifies, and anything
 * else (another message, key, namespace, hash, a torn or padded blob) is refused with its reason.
 * ssh-keygen's own side of the format is proven in test/e2e/signing.test.ts.
 *
 * Covers: src/core/sshsig.ts, src/core/ssh-keys.ts, src/core/ssh-wire.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  KeyFormatError,
  parsePublicKey,
  parseSigningKey,
  publicKeyOfBlob,
  type SigningKey,
} from '../../src/core/ssh-keys.js';
import { signMessage, verifyMessage } from '../../src/core/sshsig.js';
import { wireString, wireUint32 } from '../../src/core/ssh-wire.js';

function newKey(): { signing: SigningKey; publicLine: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const signing = parseSigningKey(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  return { signing, publicLine: `ssh-ed25519 ${signing.publicBlob.toString('base64')} test` };
}

const one = newKey();
const other = newKey();
const message = Buffer.from('{"id": "x"}\n');
const trusted = [parsePublicKey(one.publicLine)];

/** The armored signature's blob, and the same armour around another blob. */
const blobOf = (armored: string) =>
  Buffer.from(armored.split('\n').slice(1, -2).join(''), 'base64');
const armor = (blob: Buffer) =>
  `-----BEGIN SSH SIGNATURE-----\n${blob.toString('base64')}\n-----END SSH SIGNATURE-----\n`;

describe('a signature', () => {
  it('verifies against its key, named by the fingerprint ssh-keygen -l prints', () => {
    const verdict = verifyMessage(message, signMessage(message, one.signing), trusted);
    expect(verdict).toEqual({ signer: trusted[0]!.fingerprint });
    expect(trusted[0]!.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('is armored as ssh-keygen writes it, 70 columns wide', () => {
    const lines = signMessage(message, one.signing).trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN SSH SIGNATURE-----');
    expect(lines.at(-1)).toBe('-----END SSH SIGNATURE-----');
    expect(lines.slice(1, -2).every((line) => line.length === 70)).toBe(true);
  });

  it('does not verify another message, even one byte apart', () => {
    const verdict = verifyMessage(
      Buffer.from('{"id": "y"}\n'),
      signMessage(message, one.signing),
      trusted,
    );
    expect(verdict).toEqual({
      problem: `its signature by ${trusted[0]!.fingerprint} does not match its manifest`,
    });
  });

  it('by a key not given is refused naming that key', () => {
    const verdict = verifyMessage(message, signMessage(message, other.signing), trusted);
    expect('problem' in verdict && verdict.problem).toMatch(
      /^it is signed by SHA256:\S+, which is not among signing-public-key$/,
    );
  });

  it('passes under any of several keys (rotation)', () => {
    const both = [parsePublicKey(other.publicLine), ...trusted];
    expect(verifyMessage(message, signMessage(message, one.signing), both)).toHaveProperty(
      'signer',
    );
  });

  it('that is torn, padded or not a signature at all is unreadable', () => {
    const blob = blobOf(signMessage(message, one.signing));
    for (const bad of [
      armor(blob.subarray(0, blob.length - 5)),
      armor(Buffer.concat([blob, Buffer.from([0])])),
      armor(Buffer.from('SSHSIX')),
      'hello',
    ]) {
      const verdict = verifyMessage(message, bad, trusted);
      expect('problem' in verdict && verdict.problem).toMatch(/^its signature is unreadable/);
    }
  });

  it('of a version this release does not know is unreadable', () => {
    const blob = Buffer.from(blobOf(signMessage(message, one.signing)));
    blob.writeUInt32BE(2, 6);
    expect(verifyMessage(message, armor(blob), trusted)).toEqual({
      problem: 'its signature is unreadable (an unknown version)',
    });
  });
});

describe('keys', () => {
  it('a public key line may be an allowed_signers line, its principal first', () => {
    const key = parsePublicKey(`backup@example ${one.publicLine}`);
    expect(key.publicBlob).toEqual(one.signing.publicBlob);
  });

  it('anything but an Ed25519 public key is refused, without quoting it', () => {
    for (const line of ['ssh-rsa AAAAB3Nza', 'ssh-ed25519', 'ssh-ed25519 AAAA']) {
      expect(() => parsePublicKey(line)).toThrow(KeyFormatError);
    }
    expect(publicKeyOfBlob(Buffer.from('junk'))).toBeUndefined();
  });

  it('a private key that is neither OpenSSH nor PKCS#8 is refused', () => {
    expect(() => parseSigningKey('AGE-SECRET-KEY-1XYZ')).toThrow(/is not an OpenSSH private key/);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => parseSigningKey(pem)).toThrow(/is a ec key; only Ed25519 keys sign backups/);
  });

  it('an OpenSSH key under a passphrase is refused in one line saying how to remove it', () => {
    const container = Buffer.concat([
      Buffer.from('openssh-key-v1\0', 'latin1'),
      wireString('aes256-ctr'),
      wireString('bcrypt'),
      wireString(Buffer.alloc(24)),
      wireUint32(1),
    ]);
    const text = `-----BEGIN OPENSSH PRIVATE KEY-----\n${container.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    expect(() => parseSigningKey(text)).toThrow(
      /^is protected by a passphrase \(aes256-ctr\), .*ssh-keygen -p -N ""/,
    );
  });

  it('a torn OpenSSH container is refused as unreadable', () => {
    const text = `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.from('openssh-key-v1\0\0\0').toString('base64')}\n-----END OPENSSH PRIVATE KEY-----`;
    expect(() => parseSigningKey(text)).toThrow(/is not a readable OpenSSH private key/);
  });
});
