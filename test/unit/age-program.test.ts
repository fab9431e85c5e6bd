/**
 * Which keys the age program is given: X25519 recipients only, never a passphrase.
 *
 * Covers: src/pipeline/age-program.ts.
 */
import {
  generateHybridIdentity,
  generateX25519Identity,
  identityToRecipient,
} from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { programTakes } from '../../src/pipeline/age-program.js';

describe('programTakes', () => {
  it('takes X25519 recipients, one or several', async () => {
    const keys = [await generateX25519Identity(), await generateX25519Identity()];
    const recipients = await Promise.all(keys.map((key) => identityToRecipient(key)));
    expect(programTakes({ recipients: recipients.slice(0, 1) })).toBe(true);
    expect(programTakes({ recipients })).toBe(true);
  });

  it('leaves to Node a post-quantum recipient, even beside X25519 ones', async () => {
    const x25519 = await identityToRecipient(await generateX25519Identity());
    const hybrid = await identityToRecipient(await generateHybridIdentity());
    expect(hybrid).toMatch(/^age1pq1/);
    expect(programTakes({ recipients: [hybrid] })).toBe(false);
    expect(programTakes({ recipients: [x25519, hybrid] })).toBe(false);
  });

  it('leaves to Node a passphrase, which the program would ask a terminal for', () => {
    expect(programTakes({ recipients: [], passphrase: 'correct horse' })).toBe(false);
  });
});
