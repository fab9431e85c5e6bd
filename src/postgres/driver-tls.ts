/**
 * The pg driver's connection attempts for a libpq TLS choice: the driver alone reads sslmode its
 * own way (`prefer` as `require`, `allow` as `disable`, no root certificate from ~/.postgresql),
 * so it is given, attempt by attempt, what libpq would do.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import tls from 'node:tls';
import pg from 'pg';
import type { TlsChoice } from './libpq-tls.js';

/** One way to connect: no TLS, or TLS with these options. */
export type TlsAttempt = false | tls.ConnectionOptions;

export interface TlsPlan {
  attempts: [TlsAttempt] | [TlsAttempt, TlsAttempt];
  /** Whether a failed first attempt may be followed by the second. */
  retry(error: unknown, reachedServer: boolean): boolean;
}

/**
 * libpq's order: `allow` tries without TLS and, when the server answers with an error, with it;
 * `prefer` tries TLS and, when the server refuses it or anything fails after the server was
 * reached, without. A Unix socket never uses TLS, whatever the mode.
 */
export function tlsPlan(choice: TlsChoice, host: string): TlsPlan {
  const { mode } = choice;
  if (mode === 'disable' || host.startsWith('/')) return { attempts: [false], retry: () => false };
  const secure = tlsOptions(choice);
  if (mode === 'allow') {
    return { attempts: [false, secure], retry: (error) => error instanceof pg.DatabaseError };
  }
  if (mode === 'prefer') {
    return { attempts: [secure, false], retry: (error, reached) => reached && !timedOut(error) };
  }
  return { attempts: [secure], retry: () => false };
}

function timedOut(error: unknown): boolean {
  return error instanceof Error && /^timeout expired$|^Connection terminated$/.test(error.message);
}

/**
 * libpq verifies the server's certificate chain whenever a root certificate exists, in every
 * mode (which makes `require` act as `verify-ca`), and its host name only in `verify-full`.
 */
function tlsOptions(choice: TlsChoice): tls.ConnectionOptions {
  const ca = rootCertificates(choice);
  const client = clientCertificate(choice);
  return {
    ...(ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
    ...(ca && existsSync(choice.crl) ? { crl: readFileSync(choice.crl, 'utf8') } : {}),
    ...client,
    ...(choice.mode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
  };
}

function rootCertificates({ rootcert, mode }: TlsChoice): string | string[] | undefined {
  if (rootcert === 'system') {
    if (typeof tls.getCACertificates !== 'function') {
      throw new Error('sslrootcert=system needs Node.js 22.15 or later');
    }
    return tls.getCACertificates('system');
  }
  if (existsSync(rootcert)) return readFileSync(rootcert, 'utf8');
  if (mode === 'verify-ca' || mode === 'verify-full') {
    throw new Error(
      `sslmode ${mode} needs a root certificate, and "${rootcert}" does not exist; name one with sslrootcert (or PGSSLROOTCERT), or use sslrootcert=system`,
    );
  }
  return undefined;
}

/** The client's certificate, sent when its file exists, as libpq sends it. */
function clientCertificate({ cert, key }: TlsChoice): Pick<tls.ConnectionOptions, 'cert' | 'key'> {
  if (!existsSync(cert)) return {};
  if (!existsSync(key)) {
    throw new Error(`the client certificate "${cert}" has no private key file "${key}"`);
  }
  refuseOpenKey(key);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/**
 * libpq refuses a private key others may read: group or world access on a key of one's own, or
 * more than the group's reading on root's (a system-wide key shared through a group).
 */
function refuseOpenKey(key: string): void {
  const { uid, mode } = statSync(key);
  if (mode & (uid === 0 ? 0o037 : 0o077)) {
    throw new Error(
      `the private key file "${key}" has group or world access; libpq takes u=rw (0600) or less, or u=rw,g=r (0640) or less when root owns it`,
    );
  }
}
