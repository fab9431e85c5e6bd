/**
 * The secrets masked before any input is read, whatever the mode: whole values of the inputs
 * named as secrets, line by line, and the password of any URL given in any input.
 *
 * Covers: src/inputs/given-secrets.ts.
 */
import { describe, expect, it } from 'vitest';
import { givenSecrets } from '../../src/inputs/given-secrets.js';
import type { InputName } from '../../src/inputs/names.js';

const source =
  (given: Partial<Record<InputName, string>>) =>
  (name: InputName): string =>
    given[name] ?? '';

describe('givenSecrets', () => {
  it('takes each line of a secret input whole', () => {
    const secrets = givenSecrets(
      source({
        'age-identity': 'AGE-SECRET-KEY-1ONE\n\n  AGE-SECRET-KEY-1TWO  \n',
        'encryption-passphrase': 'correct horse',
        'slack-webhook-url': 'https://hooks.slack.com/services/T0/B0/tok',
      }),
    );
    expect(secrets).toEqual(
      expect.arrayContaining([
        'AGE-SECRET-KEY-1ONE',
        'AGE-SECRET-KEY-1TWO',
        'correct horse',
        'https://hooks.slack.com/services/T0/B0/tok',
      ]),
    );
  });

  it('takes the password of a URL in any input, as written and decoded', () => {
    const secrets = givenSecrets(
      source({
        'database-url': 'postgres://app:p%40ss%2Fw0rd@db:5432/shop',
        storage: 's3://bucket/prefix',
        'pg-client-mirror': 'https://user:mirr0rpass@mirror.example/debian',
      }),
    );
    expect(secrets).toEqual(expect.arrayContaining(['p@ss/w0rd', 'p%40ss%2Fw0rd', 'mirr0rpass']));
    expect(secrets.some((secret) => secret.includes('bucket'))).toBe(false);
  });

  it('keeps a password that is not valid percent-encoding as written', () => {
    expect(givenSecrets(source({ 'database-url': 'postgres://app:100%zz@db/shop' }))).toContain(
      '100%zz',
    );
  });

  it('takes nothing from inputs that carry no secret', () => {
    expect(
      givenSecrets(
        source({ mode: 'backup', name: 'shop', 'database-url': 'postgres://app@db/shop' }),
      ),
    ).toEqual([]);
  });
});
