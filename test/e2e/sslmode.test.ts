/**
 * sslmode and the other TLS parameters: the pg driver (checks, row counts, scratch databases)
 * reaches the server exactly as libpq (pg_dump, pg_restore, psql) does, for every mode, with or
 * without TLS on the server, a root certificate, a revocation list or a client certificate
 * (issue 27, item 11). libpq's behaviour is not assumed: psql is asked, case by case.
 *
 * Covers: src/postgres/libpq-tls.ts, src/postgres/driver-tls.ts, src/postgres/server.ts,
 * src/inputs/database.ts.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type PgCluster } from '../../scripts/lib/pg-cluster.js';
import { readDatabaseUrl } from '../../src/inputs/database.js';
import { Inputs } from '../../src/inputs/reader.js';
import { connectionString } from '../../src/postgres/database-url.js';
import { connect } from '../../src/postgres/server.js';
import { libpqEnv } from '../../src/process/programs.js';
import { lastErrorLine, runAction } from '../support/action.js';

const run = promisify(execFile);
const SSL_IN_USE = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

/** How a connection ended up: over TLS, in plain text, or not at all. */
type Outcome = 'ssl' | 'plain' | 'refused';

let cluster: PgCluster;
let certs: string;
/** A home folder whose `.postgresql/` each case fills as it needs. */
let home: string;

beforeAll(async () => {
  cluster = await startCluster();
  certs = await mkdtemp(path.join(os.tmpdir(), 'sslmode-certs-'));
  home = await mkdtemp(path.join(os.tmpdir(), 'sslmode-home-'));
  await makeCertificates(certs);
  await serveCertificates(cluster, certs);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  for (const dir of [certs, home]) if (dir) await rm(dir, { recursive: true, force: true });
});

interface Case {
  /** Query parameters of database-url. */
  params?: Record<string, string>;
  /** PGSSL* variables of the run. */
  env?: Record<string, string>;
  /** The host to reach 127.0.0.1 by (`localhost` matches the server's certificate). */
  host?: string;
  /** Files for `~/.postgresql/`, named there as libpq's defaults name them. */
  dotPostgresql?: Record<string, string>;
  /** Their mode (default 0600: libpq refuses a private key that others may read). */
  keyMode?: string;
}

/** What libpq (psql) and the driver (the product's own `connect`) each make of one case. */
async function outcomes(c: Case): Promise<{ libpq: Outcome; driver: Outcome }> {
  await rm(path.join(home, '.postgresql'), { recursive: true, force: true });
  if (c.dotPostgresql) {
    await mkdir(path.join(home, '.postgresql'));
    for (const [name, from] of Object.entries(c.dotPostgresql)) {
      await run('install', [
        '-m',
        c.keyMode ?? '0600',
        path.join(certs, from),
        path.join(home, '.postgresql', name),
      ]);
    }
  }
  const query = new URLSearchParams(c.params).toString();
  const url = `postgresql://${cluster.user}:${cluster.password}@${c.host ?? '127.0.0.1'}:${cluster.port}/postgres${query ? `?${query}` : ''}`;
  const env = { ...withoutTls(process.env), HOME: home, ...c.env };
  const { target } = readDatabaseUrl(
    new Inputs((name) => (name === 'database-url' ? url : ''), env),
    'database-url',
  );
  const libpq = await run('psql', ['-XAt', '-c', SSL_IN_USE, '-d', connectionString(target)], {
    env: libpqEnv(target, env),
  }).then(
    ({ stdout }) => (stdout.trim() === 't' ? 'ssl' : 'plain'),
    () => 'refused' as const,
  );
  const inherited = process.env;
  process.env = env;
  try {
    const client = await connect(target).catch(() => undefined);
    if (!client) return { libpq, driver: 'refused' };
    const { rows } = await client.query<{ ssl: boolean }>(SSL_IN_USE);
    await client.end();
    return { libpq, driver: rows[0]?.ssl ? 'ssl' : 'plain' };
  } finally {
    process.env = inherited;
  }
}

function withoutTls(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => !entry[0].startsWith('PGSSL') && entry[1] !== undefined,
    ),
  );
}

const both = (outcome: Outcome) => ({ libpq: outcome, driver: outcome });

describe('a server without TLS', () => {
  beforeAll(() => reconfigure(cluster, { ssl: false, hba: 'host' }), 60_000);

  it('prefer (the default, also from PGSSLMODE) and allow connect in plain text, require not at all, as libpq does', async () => {
    expect(await outcomes({})).toEqual(both('plain'));
    expect(await outcomes({ params: { sslmode: 'prefer' } })).toEqual(both('plain'));
    expect(await outcomes({ env: { PGSSLMODE: 'prefer' } })).toEqual(both('plain'));
    expect(await outcomes({ params: { sslmode: 'allow' } })).toEqual(both('plain'));
    expect(await outcomes({ params: { sslmode: 'require' } })).toEqual(both('refused'));
  }, 60_000);
});

describe('a server with TLS', () => {
  beforeAll(() => reconfigure(cluster, { ssl: true, hba: 'host' }), 60_000);

  it('each mode uses TLS or not as libpq does: prefer (the default) with it, allow without', async () => {
    expect(await outcomes({})).toEqual(both('ssl'));
    expect(await outcomes({ params: { sslmode: 'disable' } })).toEqual(both('plain'));
    expect(await outcomes({ params: { sslmode: 'allow' } })).toEqual(both('plain'));
    expect(await outcomes({ params: { sslmode: 'prefer' } })).toEqual(both('ssl'));
    expect(await outcomes({ params: { sslmode: 'require' } })).toEqual(both('ssl'));
  }, 60_000);

  it('verify-ca checks the chain, verify-full the host name too, from the URL or PGSSL* variables', async () => {
    const ca = path.join(certs, 'ca.crt');
    const other = path.join(certs, 'other-ca.crt');
    const verify = (mode: string, rootcert: string, host = 'localhost') =>
      outcomes({ params: { sslmode: mode, sslrootcert: rootcert }, host });
    expect(await verify('verify-ca', ca, '127.0.0.1')).toEqual(both('ssl'));
    expect(await verify('verify-ca', other)).toEqual(both('refused'));
    expect(await verify('verify-full', ca)).toEqual(both('ssl'));
    expect(await verify('verify-full', ca, '127.0.0.1')).toEqual(both('refused'));
    const fromEnv = { PGSSLMODE: 'verify-full', PGSSLROOTCERT: ca };
    expect(await outcomes({ env: fromEnv, host: 'localhost' })).toEqual(both('ssl'));
    // No root certificate at all: libpq refuses verify-* rather than trust anything.
    expect(await outcomes({ params: { sslmode: 'verify-ca' } })).toEqual(both('refused'));
  }, 60_000);

  it('a root certificate, given or in ~/.postgresql, makes every mode check the chain', async () => {
    const other = path.join(certs, 'other-ca.crt');
    expect(await outcomes({ params: { sslmode: 'require', sslrootcert: other } })).toEqual(
      both('refused'),
    );
    const foreignRoot = { 'root.crt': 'other-ca.crt' };
    expect(await outcomes({ params: { sslmode: 'require' }, dotPostgresql: foreignRoot })).toEqual(
      both('refused'),
    );
    expect(
      await outcomes({ params: { sslmode: 'verify-ca' }, dotPostgresql: { 'root.crt': 'ca.crt' } }),
    ).toEqual(both('ssl'));
    // prefer falls back to plain text when the chain does not verify.
    expect(await outcomes({ dotPostgresql: foreignRoot })).toEqual(both('plain'));
  }, 60_000);

  it('a revocation list, given or in ~/.postgresql, is obeyed', async () => {
    const ca = path.join(certs, 'ca.crt');
    const crl = path.join(certs, 'revoked.crl');
    expect(
      await outcomes({ params: { sslmode: 'verify-ca', sslrootcert: ca, sslcrl: crl } }),
    ).toEqual(both('refused'));
    expect(
      await outcomes({
        params: { sslmode: 'verify-ca' },
        dotPostgresql: { 'root.crt': 'ca.crt', 'root.crl': 'revoked.crl' },
      }),
    ).toEqual(both('refused'));
  }, 60_000);
});

describe('a server that takes only TLS, or only plain text', () => {
  it('allow retries with TLS where the server refuses plain text; disable does not', async () => {
    await reconfigure(cluster, { ssl: true, hba: 'hostssl' });
    expect(await outcomes({ params: { sslmode: 'allow' } })).toEqual(both('ssl'));
    expect(await outcomes({ params: { sslmode: 'disable' } })).toEqual(both('refused'));
  }, 60_000);

  it('prefer retries in plain text where the server refuses TLS; require does not', async () => {
    await reconfigure(cluster, { ssl: true, hba: 'hostnossl' });
    expect(await outcomes({})).toEqual(both('plain'));
    expect(await outcomes({ params: { sslmode: 'prefer' } })).toEqual(both('plain'));
    expect(await outcomes({ params: { sslmode: 'require' } })).toEqual(both('refused'));
  }, 60_000);

  it('a client certificate in ~/.postgresql is sent, as libpq sends it', async () => {
    await reconfigure(cluster, { ssl: true, hba: 'hostssl', method: 'cert' });
    const client = { 'postgresql.crt': 'client.crt', 'postgresql.key': 'client.key' };
    expect(await outcomes({ dotPostgresql: client })).toEqual(both('ssl'));
    expect(await outcomes({})).toEqual(both('refused'));
    // A key that others may read is refused by libpq, so by the driver too.
    expect(await outcomes({ dotPostgresql: client, keyMode: '0644' })).toEqual(both('refused'));
  }, 60_000);
});

describe('the action', () => {
  it('backs up a TLS-only server with no sslmode, and refuses require on a server without TLS in one line', async () => {
    const store = await mkdtemp(path.join(os.tmpdir(), 'sslmode-store-'));
    // A home without ~/.postgresql, whatever the machine's own holds.
    const env = { HOME: store };
    try {
      await reconfigure(cluster, { ssl: true, hba: 'hostssl' });
      const made = await runAction(
        { storage: `${store}/backups`, name: 'tls', 'database-url': cluster.url },
        { env },
      );
      expect(made.code, made.stdout + made.stderr).toBe(0);
      await reconfigure(cluster, { ssl: false, hba: 'host' });
      const refused = await runAction(
        {
          storage: `${store}/backups`,
          name: 'tls',
          'database-url': `${cluster.url}?sslmode=require`,
        },
        { env },
      );
      expect(refused.code).not.toBe(0);
      expect(lastErrorLine(refused)).toMatch(/cannot connect to .*does not support SSL/);
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('what the driver cannot do as libpq does is refused before any work', () => {
  const refusal = (url: string, env: Record<string, string> = {}) => {
    try {
      readDatabaseUrl(
        new Inputs((name) => (name === 'database-url' ? url : ''), env),
        'database-url',
      );
      return 'accepted';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('names the parameter or variable in one line', () => {
    const base = 'postgresql://u@db.example.com/app';
    expect(refusal(`${base}?sslmode=no-verify`)).toMatch(
      /^Input "database-url": sslmode is "no-verify"; libpq accepts disable, allow, prefer/,
    );
    expect(refusal(base, { PGSSLMODE: 'true' })).toMatch(/PGSSLMODE is "true"/);
    expect(refusal(`${base}?sslrootcert=system&sslmode=require`)).toMatch(
      /sslmode is require with sslrootcert=system.*verify-full/,
    );
    expect(refusal(base, { PGSSLROOTCERT: 'system', PGSSLMODE: 'verify-ca' })).toMatch(
      /PGSSLMODE is verify-ca with sslrootcert=system/,
    );
    expect(refusal(`${base}?sslnegotiation=direct`)).toMatch(
      /sslnegotiation=direct needs sslmode require/,
    );
    expect(refusal(`${base}?sslpassword=x`)).toMatch(
      /"sslpassword", which would show in the process list/,
    );
    for (const text of ['no-verify', 'true', 'system', 'direct', 'sslpassword']) {
      expect(refusal(`${base}?sslmode=${text}`)).not.toContain('\n');
    }
    expect(refusal(`${base}?sslrootcert=system`)).toBe('accepted');
    expect(refusal(`${base}?sslmode=require&sslnegotiation=direct`)).toBe('accepted');
  });
});

/** A CA, a server certificate for `localhost` it signed, a client certificate, another CA, and a revocation list of the server's. */
async function makeCertificates(dir: string): Promise<void> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    await openssl(
      'req',
      '-x509',
      ...key,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
    );
  }
  await writeFile(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost\n');
  for (const [name, subject] of [
    ['server', 'localhost'],
    ['client', 'postgres'],
  ] as const) {
    await openssl(
      'req',
      ...key,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${subject}`,
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      ...(name === 'server' ? ['-extfile', 'server.ext'] : []),
    );
  }
  await writeFile(path.join(dir, 'index.txt'), '');
  await writeFile(path.join(dir, 'crlnumber'), '01\n');
  await writeFile(
    path.join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = own\n[own]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\n',
  );
  const signer = ['-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.crt'];
  await openssl('ca', ...signer, '-revoke', 'server.crt');
  await openssl('ca', ...signer, '-gencrl', '-out', 'revoked.crl');
}

/** The server's certificate and key in its data folder, owned by the server's user, and the CA it checks clients by. */
async function serveCertificates(server: PgCluster, dir: string): Promise<void> {
  const { uid, gid } = await stat(server.dataDir);
  for (const file of ['server.crt', 'server.key', 'ca.crt']) {
    const to = path.join(server.dataDir, file);
    await run('cp', [path.join(dir, file), to]);
    await chmod(to, 0o600);
    await chown(to, uid, gid);
  }
  await admin(server, async (client) => {
    await client.query(`ALTER SYSTEM SET ssl_cert_file = 'server.crt'`);
    await client.query(`ALTER SYSTEM SET ssl_key_file = 'server.key'`);
    await client.query(`ALTER SYSTEM SET ssl_ca_file = 'ca.crt'`);
  });
}

/** Through the cluster's Unix socket, which every pg_hba.conf below trusts. */
async function admin<T>(server: PgCluster, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: path.join(path.dirname(server.dataDir), 'socket'),
    port: server.port,
    user: server.user,
    database: 'postgres',
  });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/**
 * TLS on or off, and TCP connections allowed over `host` (either), `hostssl` or `hostnossl`; then
 * waits until new connections are served by the new configuration.
 */
async function reconfigure(
  server: PgCluster,
  { ssl, hba, method = 'scram-sha-256' }: { ssl: boolean; hba: string; method?: string },
): Promise<void> {
  const lines = [
    'local all all trust',
    `${hba} all all 127.0.0.1/32 ${method}`,
    `${hba} all all ::1/128 ${method}`,
  ];
  await writeFile(path.join(server.dataDir, 'pg_hba.conf'), `${lines.join('\n')}\n`);
  const loaded = await admin(server, async (client) => {
    await client.query(`ALTER SYSTEM SET ssl = ${ssl ? 'on' : 'off'}`);
    const { rows } = await client.query<{ at: Date }>('SELECT pg_conf_load_time() AS at');
    await client.query('SELECT pg_reload_conf()');
    return rows[0]?.at.getTime() ?? 0;
  });
  for (let tries = 0; ; tries++) {
    const now = await admin(server, async (client) => {
      const { rows } = await client.query<{ at: Date }>('SELECT pg_conf_load_time() AS at');
      return rows[0]?.at.getTime() ?? 0;
    });
    if (now > loaded) return;
    if (tries > 100) throw new Error('the server did not reload its configuration');
    await sleep(50);
  }
}
