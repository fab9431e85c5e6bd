/**
 * What gpg says, read as pure logic: its key listings (`--with-colons`, as GnuPG 2.2 writes them
 * for the keys of test/e2e/gpg.test.ts) judged for encrypting and decrypting, and its status lines
 * after a failed decryption turned into one line naming the input to fix. Secrets registered for
 * masking cover an armored key line by line. gpg-recipients split into armored blocks and
 * paths; the owner files that let a later run remove a killed run's homes.
 *
 * Covers: src/pipeline/gpg-keys.ts, src/pipeline/gpg-status.ts, src/pipeline/gpg.ts,
 * src/inputs/crypto.ts, src/inputs/gpg-recipients.ts, src/process/run-folders.ts.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { decryptionSecrets } from '../../src/inputs/crypto.js';
import { splitRecipients, unreadableLine } from '../../src/inputs/gpg-recipients.js';
import { formatOwner, parseOwner, statFields } from '../../src/process/run-folders.js';
import { DecryptionError } from '../../src/pipeline/encrypt.js';
import { decryptFailure } from '../../src/pipeline/gpg.js';
import {
  agentFailure,
  parseColonListing,
  recipientProblem,
  secretKeyProblem,
  unlockFailure,
} from '../../src/pipeline/gpg-keys.js';
import { parseGpgOutput } from '../../src/pipeline/gpg-status.js';

const GOOD = `pub:-:255:22:D0778EC596EBF1A4:1796608600:1859680600::-:::scESC:::::ed25519:::0:
fpr:::::::::86BF920BF0A4B22EE1395E5FD0778EC596EBF1A4:
uid:-::::1796608600::A8257286E3CFF670520C365E095C59B544882A7C::Good \\x3a Team <g@example.com>::::::::::0:
sub:-:255:18:F685F8A2C1DB1A76:1796608601:1859680601:::::e:::::cv25519::
fpr:::::::::5F9359D9F43F6746914D2199F685F8A2C1DB1A76:
`;
const SIGN_ONLY = `pub:-:255:22:1D2BB9AD3489108E:1796608601:1859680601::-:::scSC:::::ed25519:::0:
fpr:::::::::645EA8F7F163CB4F748074FF1D2BB9AD3489108E:
uid:-::::1796608601::2181C6C879F92DF7891D11629B3DB9DB66233234::SignOnly <s@example.com>::::::::::0:
`;
const EXPIRED = `pub:e:255:22:64AB5B8DF3A958DC:1577836800:1609372800::-:::sc:::::ed25519:::0:
fpr:::::::::EEEC8F1E016953A00E55DF5464AB5B8DF3A958DC:
uid:e::::1577836800::51F44078F2A12F7C378477CB382C537F3FF2438A::Expired <e@example.com>::::::::::0:
sub:e:255:18:A1DE5DE505A2BD90:1577836800:1609372800:::::e:::::cv25519::
fpr:::::::::9DEB06D99DA632E4D4CC61F6A1DE5DE505A2BD90:
`;
/** A valid primary key whose only encryption subkey expired. */
const SUBKEY_EXPIRED = `pub:-:255:22:D0778EC596EBF1A4:1577836800:::-:::scSC:::::ed25519:::0:
fpr:::::::::86BF920BF0A4B22EE1395E5FD0778EC596EBF1A4:
sub:e:255:18:F685F8A2C1DB1A76:1577836800:1609372800:::::e:::::cv25519::
fpr:::::::::5F9359D9F43F6746914D2199F685F8A2C1DB1A76:
`;
const SECRET = `sec:-:255:22:8A3F9E59B45CA416:1796608607:1859680607::-:::cEC:::+::ed25519:::0:
fpr:::::::::7974922758BD309E021206E18A3F9E59B45CA416:
grp:::::::::98EE8B6C11A494AD14675940F35BD12EDC656444:
uid:-::::1796608607::F428AB852C91ADA4371BBCCD2BCD6D3C8E9A10CC::Prot <p@example.com>::::::::::0:
ssb:-:255:18:F46033647E702A69:1796608610:1859680610:::::e:::+::cv25519::
fpr:::::::::D735A8486E42C42E6A604925F46033647E702A69:
grp:::::::::315A5B2DD3F66DAB180ECE6F2D0FFA8A0F4DA3CA:
`;

describe('key listings', () => {
  it('are read as primary keys with their subkeys, user ids unescaped', () => {
    const [key] = parseColonListing(GOOD);
    expect(key).toMatchObject({
      secret: false,
      fingerprint: '86BF920BF0A4B22EE1395E5FD0778EC596EBF1A4',
      validity: '-',
      capabilities: 'scESC',
      uid: 'Good : Team <g@example.com>',
      subkeys: [{ fingerprint: '5F9359D9F43F6746914D2199F685F8A2C1DB1A76', capabilities: 'e' }],
    });
    expect(parseColonListing(`${GOOD}${SIGN_ONLY}`).map((one) => one.keyId)).toEqual([
      'D0778EC596EBF1A4',
      '1D2BB9AD3489108E',
    ]);
  });

  it('accept a key that can encrypt today', () => {
    expect(recipientProblem(parseColonListing(GOOD)[0]!)).toBeUndefined();
  });

  it.each([
    [
      'an expired key',
      EXPIRED,
      'key EEEC8F1E016953A00E55DF5464AB5B8DF3A958DC ("Expired <e@example.com>") expired on 2020-12-31',
    ],
    [
      'a signing-only key',
      SIGN_ONLY,
      'key 645EA8F7F163CB4F748074FF1D2BB9AD3489108E ("SignOnly <s@example.com>") cannot encrypt: it has no encryption subkey (it is for signing only)',
    ],
    [
      'a key whose encryption subkey expired',
      SUBKEY_EXPIRED,
      'key 86BF920BF0A4B22EE1395E5FD0778EC596EBF1A4: its encryption subkey expired on 2020-12-31',
    ],
    [
      'a revoked key',
      GOOD.replace('pub:-:', 'pub:r:'),
      'key 86BF920BF0A4B22EE1395E5FD0778EC596EBF1A4 ("Good : Team <g@example.com>") is revoked',
    ],
  ])('refuse %s as a recipient', (_label, listing, problem) => {
    expect(recipientProblem(parseColonListing(listing)[0]!)).toBe(problem);
  });

  it('refuse a key made in the future by this clock as such, not as expired', () => {
    // As GnuPG 2.2 lists a key made three days ahead of its clock: invalid, with no user id.
    const future = `pub:i:3072:1:5BB3C52F5CE61498:1796885313:::-:::esca::::::23::0:
fpr:::::::::EA8FC230A79A63ADE5325B125BB3C52F5CE61498:
`;
    const now = 1796885313 - 3 * 86400;
    expect(recipientProblem(parseColonListing(future)[0]!, now)).toBe(
      "key EA8FC230A79A63ADE5325B125BB3C52F5CE61498 was made on 2026-12-10, later than this machine's clock says it is now (one of the two clocks is wrong)",
    );
    expect(recipientProblem(parseColonListing(future)[0]!, 1796885313 + 60)).toBe(
      'key EA8FC230A79A63ADE5325B125BB3C52F5CE61498 is not valid (gpg cannot check its self-signature)',
    );
    const futureSubkey = SUBKEY_EXPIRED.replace(
      'sub:e:255:18:F685F8A2C1DB1A76:1577836800:1609372800',
      'sub:i:255:18:F685F8A2C1DB1A76:1796885313:',
    );
    expect(recipientProblem(parseColonListing(futureSubkey)[0]!, now)).toBe(
      "key 86BF920BF0A4B22EE1395E5FD0778EC596EBF1A4: its encryption subkey was made on 2026-12-10, later than this machine's clock says it is now (one of the two clocks is wrong)",
    );
  });

  it('refuse a key whose only encryption subkey is made in the future, though gpg lists it valid', () => {
    // As GnuPG 2.2.40 lists it (the hostile review's F12): the subkey `-`, the key `scESC`; gpg
    // then refuses it when encrypting ("Unusable public key"), after the source was opened.
    const listing = `pub:-:255:22:EB16FD6D56542890:1796650204:::-:::scESC:::::ed25519:::0:
fpr:::::::::70403565DD3CED37D6EB2F2DEB16FD6D56542890:
uid:-::::1796650204::BAFAF0FD10D4EE5B122D18EE8B677F1BA8E64616::FutSub <fs@example.com>::::::::::0:
sub:-:255:18:E8036206416C7472:1796909404::::::e:::::cv25519::
fpr:::::::::A88DE339D97E4B927B141F61E8036206416C7472:
`;
    const key = parseColonListing(listing)[0]!;
    expect(recipientProblem(key, 1796909404 - 86400)).toMatch(
      /^key 70403565DD3CED37D6EB2F2DEB16FD6D56542890 \("FutSub <fs@example\.com>"\): its encryption subkey was made on 2026-12-\d\d, later than this machine's clock says it is now/,
    );
    expect(recipientProblem(key, 1796909404 + 60)).toBeUndefined();
  });

  it('accept secret keys holding an encryption subkey’s secret, whatever their dates', () => {
    expect(secretKeyProblem(parseColonListing(SECRET))).toBeUndefined();
    expect(secretKeyProblem(parseColonListing(SECRET.replace(/^ssb:-:/m, 'ssb:e:')))).toBe(
      undefined,
    );
  });

  it('refuse secret keys that cannot decrypt, saying why', () => {
    expect(secretKeyProblem([])).toMatch(/^holds no private key \(a public key alone/);
    expect(secretKeyProblem(parseColonListing(SECRET.replace(':::e:::+::', ':::s:::+::')))).toMatch(
      /cannot decrypt: it has no encryption subkey/,
    );
    // A stub: the subkey's secret was left out (or is on a card).
    expect(secretKeyProblem(parseColonListing(SECRET.replace(':::e:::+::', ':::e:::#::')))).toMatch(
      /the secret of its encryption subkey is missing/,
    );
  });
});

/** stderr of `gpg --status-fd 2 --decrypt`, as GnuPG 2.2 writes it in each case. */
const NO_SECRET = `[GNUPG:] ENC_TO F685F8A2C1DB1A76 18 0
gpg: encrypted with ECDH key, ID F685F8A2C1DB1A76
[GNUPG:] NO_SECKEY F685F8A2C1DB1A76
[GNUPG:] BEGIN_DECRYPTION
[GNUPG:] DECRYPTION_FAILED
gpg: decryption failed: No secret key
[GNUPG:] END_DECRYPTION`;
const NO_PASSPHRASE = `[GNUPG:] ENC_TO F46033647E702A69 18 0
[GNUPG:] NEED_PASSPHRASE F46033647E702A69 8A3F9E59B45CA416 18 0
[GNUPG:] INQUIRE_MAXLEN 100
gpg: Sorry, we are in batchmode - can't get input`;
const BAD_PASSPHRASE = `[GNUPG:] ENC_TO F46033647E702A69 18 0
gpg: public key decryption failed: Bad passphrase
[GNUPG:] ERROR pkdecrypt_failed 67108875
[GNUPG:] DECRYPTION_FAILED
gpg: decryption failed: No secret key`;
const SYMMETRIC_BAD = `gpg: AES256.CFB encrypted data
[GNUPG:] NEED_PASSPHRASE_SYM 9 3 2
[GNUPG:] ERROR symkey_decrypt.maybe_error 11_BAD_PASSPHRASE
[GNUPG:] DECRYPTION_FAILED
gpg: decryption failed: Bad session key`;
const SYMMETRIC_NONE = `gpg: AES256.CFB encrypted data
[GNUPG:] NEED_PASSPHRASE_SYM 9 3 2
gpg: Sorry, we are in batchmode - can't get input`;
const TAMPERED = `[GNUPG:] DECRYPTION_KEY D735A8486E42C42E6A604925F46033647E702A69 7974922758BD309E021206E18A3F9E59B45CA416 -
[GNUPG:] BEGIN_DECRYPTION
gpg: WARNING: encrypted message has been manipulated!
[GNUPG:] DECRYPTION_FAILED`;
const NOT_OPENPGP = `gpg: no valid OpenPGP data found.
[GNUPG:] NODATA 1`;

const KEY = { privateKeys: '-----BEGIN PGP PRIVATE KEY BLOCK-----…' };

describe('a failed decryption', () => {
  it.each([
    [
      'a key the backup is not encrypted to',
      NO_SECRET,
      KEY,
      'Input "gpg-private-key": does not hold the secret of OpenPGP key F685F8A2C1DB1A76, to which the backup is encrypted',
    ],
    [
      'a passphrase alone, for a backup encrypted to a key',
      NO_SECRET,
      { passphrase: 'p' },
      'Input "gpg-private-key": is required: the backup is encrypted to OpenPGP key F685F8A2C1DB1A76',
    ],
    [
      'a protected key without its passphrase',
      NO_PASSPHRASE,
      KEY,
      'Input "gpg-passphrase": is required: gpg-private-key is protected by a passphrase',
    ],
    [
      'a wrong passphrase',
      BAD_PASSPHRASE,
      { ...KEY, passphrase: 'p' },
      'Input "gpg-passphrase": does not unlock gpg-private-key',
    ],
    [
      // Encrypted to two keys: the one given is not the first, and its passphrase is wrong.
      'a wrong passphrase, the backup encrypted to another key too',
      `[GNUPG:] NO_SECKEY F685F8A2C1DB1A76\n${BAD_PASSPHRASE}`,
      { ...KEY, passphrase: 'p' },
      'Input "gpg-passphrase": does not unlock gpg-private-key',
    ],
    [
      'a wrong passphrase for gpg --symmetric',
      SYMMETRIC_BAD,
      { passphrase: 'p' },
      'Input "gpg-passphrase": does not open the backup',
    ],
    [
      'no passphrase for gpg --symmetric',
      SYMMETRIC_NONE,
      KEY,
      'Input "gpg-passphrase": is required: the backup was encrypted with gpg --symmetric',
    ],
  ])('names the input: %s', (_label, stderr, secrets, line) => {
    const failure = decryptFailure(parseGpgOutput(stderr), secrets);
    expect(failure).toBeInstanceOf(DecryptionError);
    expect(failure.message).toBe(line);
  });

  it.each([
    ['tampered bytes', TAMPERED, 'WARNING: encrypted message has been manipulated!'],
    ['bytes that are not OpenPGP', NOT_OPENPGP, 'no valid OpenPGP data found.'],
  ])('is damage, not a key problem: %s', (_label, stderr, said) => {
    const failure = decryptFailure(parseGpgOutput(stderr), { ...KEY, passphrase: 'p' });
    expect(failure).not.toBeInstanceOf(DecryptionError);
    expect(failure.message).toBe(`gpg could not decrypt the backup: ${said}`);
  });

  it('unlocking the key at the start says which input is wrong', () => {
    const exportFailed = `[GNUPG:] NEED_PASSPHRASE 8A3F9E59B45CA416 8A3F9E59B45CA416 22 0
gpg: key 98EE8B6C11A494AD14675940F35BD12EDC656444: error receiving key from agent: Bad passphrase - skipped
[GNUPG:] ERROR export_keys.secret 67108875`;
    const outcome = parseGpgOutput(exportFailed);
    expect(unlockFailure(outcome, true)).toEqual(
      new InputError('gpg-passphrase', 'does not unlock gpg-private-key'),
    );
    expect(unlockFailure(outcome, false)).toEqual(
      new InputError('gpg-passphrase', 'is required: gpg-private-key is protected by a passphrase'),
    );
    expect(unlockFailure(parseGpgOutput('gpg: agent died'), false).message).toBe(
      'Input "gpg-private-key": gpg could not unlock it: agent died',
    );
  });
});

describe('secrets to mask', () => {
  it('cover an armored key line by line, not its armor lines', () => {
    const body = ['lFgEaxYSEBYJKwYBBAHaRw8BAQdAO2/7GtJRqVTnyDQfewoQN2U+YxR9YkZtBZQW', '=3Fgx'];
    const privateKeys = [
      '-----BEGIN PGP PRIVATE KEY BLOCK-----',
      'Comment: exported for backups',
      '',
      ...body,
      '-----END PGP PRIVATE KEY BLOCK-----',
    ].join('\n');
    expect(
      decryptionSecrets({ identities: [], gpg: { privateKeys, passphrase: 'pass-5b1e' } }),
    ).toEqual([undefined, 'pass-5b1e', ...body]);
  });
});

describe('a failed import of gpg-private-key', () => {
  it("blames gpg's agent, in gpg's words, when the agent could not start", () => {
    const noAgent = `[GNUPG:] IMPORT_OK 1 DA1F8BA4B94E1137733298A0494959468F017C73
gpg: error running '/usr/bin/gpg-agent': exit status 2
gpg: failed to start agent '/usr/bin/gpg-agent': General error
gpg: can't connect to the agent: General error
gpg: import from '[stdin]' failed: No agent running`;
    expect(agentFailure(parseGpgOutput(noAgent))).toBe(
      "error running '/usr/bin/gpg-agent': exit status 2 | failed to start agent '/usr/bin/gpg-agent': General error",
    );
  });

  it('blames nothing else when the data is not a key', () => {
    expect(agentFailure(parseGpgOutput('gpg: no valid OpenPGP data found.'))).toBeUndefined();
  });
});

describe('gpg-recipients', () => {
  const block = (kind: string, body: string) =>
    `-----BEGIN PGP ${kind}-----\n\n${body}\n-----END PGP ${kind}-----`;

  it('keeps every line outside an armored block as a path, so none is dropped unseen', () => {
    const text = [
      'keys/team.asc',
      `  ${block('PUBLIC KEY BLOCK', 'mDMEaxZV')}`.replace(/\n/g, '\r\n  '),
      '# the auditors',
      '',
      '/etc/backup/auditors.gpg',
      block('PUBLIC KEY BLOCK', 'mQINBGcc'),
    ].join('\n');
    expect(splitRecipients(text)).toEqual({
      armored: `${block('PUBLIC KEY BLOCK', 'mDMEaxZV')}\n${block('PUBLIC KEY BLOCK', 'mQINBGcc')}\n`,
      paths: ['keys/team.asc', '/etc/backup/auditors.gpg'],
    });
  });

  it('reads text that is not a key as a path (which then fails to be read)', () => {
    expect(splitRecipients(`hello there\n${block('PUBLIC KEY BLOCK', 'mDMEaxZV')}`).paths).toEqual([
      'hello there',
    ]);
    expect(splitRecipients('keys/a.gpg\nkeys/b.asc')).toEqual({
      armored: '',
      paths: ['keys/a.gpg', 'keys/b.asc'],
    });
  });
});

describe('gpg-recipients refused as a whole', () => {
  const begin = (kind: string) => `-----BEGIN PGP ${kind}-----\n\nmDMEaxZV`;
  const end = '-----END PGP PUBLIC KEY BLOCK-----';
  const refusal = (text: string): string => {
    try {
      splitRecipients(text);
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      return (error as Error).message;
    }
    throw new Error('not refused');
  };

  it('a block without its END line, so that no line after it is swallowed', () => {
    for (const text of [
      `${begin('PUBLIC KEY BLOCK')}\nkeys/k2.gpg`,
      `${begin('PUBLIC KEY BLOCK')}\n${begin('PUBLIC KEY BLOCK')}\n${end}`,
    ]) {
      expect(refusal(text)).toBe(
        'Input "gpg-recipients": the armored key block that starts on line 1 has no -----END PGP line before the next block or the end; paste each key whole',
      );
    }
    expect(refusal(`keys/a.gpg\n\n${begin('PUBLIC KEY BLOCK')}`)).toMatch(/starts on line 3 /);
  });

  it('comments and blank lines only, rather than encrypting to nobody', () => {
    expect(refusal('# prod key\n\n  # old key')).toBe(
      'Input "gpg-recipients": holds no key, only blank or # comment lines; give armored public keys (gpg --armor --export KEYID) or the path of a file holding them, or remove the input',
    );
  });
});

describe('a gpg-recipients line that names no file', () => {
  it('is named as a key id or fingerprint when it looks like one', () => {
    for (const line of [
      'F765A357',
      '0x44B01881F765A357',
      '9E76 10C2 CCD6 2D2B C000  B611 44B0 1881 F765 A357',
    ]) {
      expect(unreadableLine(line, `/w/${line}`, 'ENOENT').message).toMatch(
        /^Input "gpg-recipients": ".*" looks like a key id or fingerprint, which is not accepted .*; give the key itself \(gpg --armor --export [0-9A-Fx]+\) or the path of a file holding it$/,
      );
    }
  });

  it('is named as a private key without quoting it, and otherwise as a file', () => {
    const key = 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ';
    const message = unreadableLine(key, `/w/${key}`, 'ENOENT').message;
    expect(message).toMatch(/^Input "gpg-recipients": a line holds a private key/);
    expect(message).not.toContain('QQQQ');
    expect(unreadableLine('keys/team.asc', '/w/keys/team.asc', 'ENOENT').message).toBe(
      'Input "gpg-recipients": /w/keys/team.asc cannot be read (ENOENT); every line outside an armored key block must be the path of a file holding public keys',
    );
  });
});

describe("a home's owner file", () => {
  it('round-trips a pid with its start time, and one without', () => {
    for (const owner of [
      { pid: 4242, started: '2500564', namespace: 'pid:[4026531836]' },
      { pid: 4242, started: '2500564' },
      { pid: 7 },
    ]) {
      expect(parseOwner(formatOwner(owner))).toEqual(owner);
    }
  });

  it('is refused when torn or foreign, so that no home is removed on its word', () => {
    for (const text of [
      '',
      '4242',
      '4242 ',
      '0\n',
      '-1\n',
      'x 1\n',
      '4242 12 13\n',
      '4242 12 pid:[x]\n',
      '4242\n\n',
    ]) {
      expect(parseOwner(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it("finds /proc/PID/stat's fields after a name holding spaces and parentheses", () => {
    const fields = statFields(
      '8068 (gpg-agent (x) y) S 1 8067 8067 0 -1 4194368 ' + '0 '.repeat(12) + '2500564 99',
    );
    expect(fields[0]).toBe('S');
    expect(fields[19]).toBe('2500564');
  });
});
