/**
 * The TLS settings of a connection as libpq reads them (PostgreSQL's "SSL Support" and "Parameter
 * Key Words" pages): each from the URL, else from its PGSSL* variable, else libpq's default. The
 * driver connects by these, so it reaches the server exactly as pg_dump and pg_restore do.
 */
import os from 'node:os';
import path from 'node:path';

export const SSL_MODES = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface TlsChoice {
  mode: SslMode;
  /** A file, or `system` (the trusted roots of the TLS library). */
  rootcert: string;
  cert: string;
  key: string;
  crl: string;
  negotiation: 'postgres' | 'direct';
}

/** The variable libpq falls back on for each parameter (PGSSLNEGOTIATION is never passed on). */
const VARIABLES = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
} as const;

/**
 * libpq's choice for these parameters and variables. Throws one line naming the parameter (or
 * variable) where libpq would refuse the connection outright.
 */
export function tlsChoice(params: Record<string, string>, env: NodeJS.ProcessEnv): TlsChoice {
  // libpq's ~ is $HOME, else the user's home in the password database.
  const home = env.HOME || os.homedir();
  const given = (name: keyof typeof VARIABLES) => {
    if (params[name] !== undefined) return { value: params[name], from: name };
    const variable = VARIABLES[name];
    return env[variable] === undefined ? undefined : { value: env[variable], from: variable };
  };
  const file = (name: keyof typeof VARIABLES, fallback: string) =>
    given(name)?.value || path.join(home, '.postgresql', fallback);
  const rootcert = file('sslrootcert', 'root.crt');
  const mode = modeOf(given('sslmode'), rootcert);
  return {
    mode,
    rootcert,
    cert: file('sslcert', 'postgresql.crt'),
    key: file('sslkey', 'postgresql.key'),
    crl: file('sslcrl', 'root.crl'),
    negotiation: negotiationOf(params.sslnegotiation, mode),
  };
}

function modeOf(given: { value: string; from: string } | undefined, rootcert: string): SslMode {
  // With the system's roots anyone can hold a trusted certificate for a name they own.
  const system = rootcert === 'system';
  if (given === undefined) return system ? 'verify-full' : 'prefer';
  const mode = SSL_MODES.find((known) => known === given.value);
  if (mode === undefined) {
    throw new Error(`${given.from} is "${given.value}"; libpq accepts ${SSL_MODES.join(', ')}`);
  }
  if (system && mode !== 'verify-full') {
    throw new Error(
      `${given.from} is ${mode} with sslrootcert=system, which libpq refuses; use verify-full`,
    );
  }
  return mode;
}

function negotiationOf(value: string | undefined, mode: SslMode): TlsChoice['negotiation'] {
  if (value === undefined || value === 'postgres') return 'postgres';
  if (value !== 'direct') {
    throw new Error(`sslnegotiation is "${value}"; libpq accepts postgres, direct`);
  }
  // No fallback to plaintext may follow a direct handshake (libpq 17's rule).
  if (!['require', 'verify-ca', 'verify-full'].includes(mode)) {
    throw new Error(
      `sslnegotiation=direct needs sslmode require, verify-ca or verify-full (it is ${mode})`,
    );
  }
  return 'direct';
}
