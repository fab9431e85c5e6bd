/**
 * The fault suite: what goes wrong at 3 a.m. A fault-injecting proxy sits between the action and
 * s3rver; the database is real; the action runs as the runner runs it. Nothing may be lost and
 * nothing half-made may be published.
 *
 * Covers: src/run.ts, src/process/signals.ts, src/storage/s3-upload.ts, src/pipeline/publish.ts,
 * src/inputs/reader.ts, src/storage/catalog.ts.
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lastErrorLine,
  onceShown,
  runAction,
  signalOnceShown,
  type RunOptions,
} from '../support/action.js';
import { BAD_INPUTS } from '../support/bad-inputs.js';
import { freshDatabase, multipartDatabase, type FreshDatabase } from '../support/db.js';
import { S3_ENV, testS3Bucket, testS3ClientConfig, testS3Endpoint } from '../support/env.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { forgeBackup } from '../support/forge.js';

const RECIPIENT = await identityToRecipient(await generateX25519Identity());
const PART = /^PUT .*partNumber=/;

let db: FreshDatabase;
let proxy: FaultProxy;
let work: string;
const s3 = () => new S3Client(testS3ClientConfig());

/** The pg_dump sessions open on the source database now: a stopped run leaves none. */
async function pgDumpSessions(): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump'`,
      [db.name],
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await multipartDatabase('faults_src');
  proxy = await startFaultProxy(testS3Endpoint());
  work = await mkdtemp(path.join(os.tmpdir(), 'faults-'));
});

afterAll(async () => {
  await proxy.close();
  await db.drop();
  await rm(work, { recursive: true, force: true });
});

async function keysUnder(prefix: string): Promise<string[]> {
  const listing = await s3().send(
    new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/` }),
  );
  return (listing.Contents ?? []).map((item) => item.Key ?? '').sort();
}

/** The AbortMultipartUpload requests the proxy passed on for uploads under `prefix`. */
function abortedUploads(prefix: string): string[] {
  return proxy.requests.filter((request) =>
    new RegExp(`^DELETE /${testS3Bucket()}/${prefix}/db/[^?]+\\?uploadId=`).test(request),
  );
}

function backupThroughProxy(
  prefix: string,
  extra: Record<string, string> = {},
  onStart?: RunOptions['onStart'],
) {
  return runAction(
    {
      storage: `s3://${testS3Bucket()}/${prefix}`,
      's3-endpoint': proxy.endpoint,
      'database-url': db.url,
      name: 'db',
      compression: 'none',
      // One attempt: each fault here is judged on the run it breaks; a run made again after a
      // passing failure is retries.test.ts's.
      retries: '0',
      ...extra,
    },
    { env: S3_ENV, onStart },
  );
}

describe('parts', () => {
  it('are sized from the database: 8 MiB each but the last, for a small database', async () => {
    proxy.requests.length = 0;
    proxy.lengths.length = 0;
    const run = await backupThroughProxy('parts');
    expect(run.code, run.stdout).toBe(0);
    const parts = proxy.requests.flatMap((request, i) =>
      PART.test(request) ? [proxy.lengths[i] ?? 0] : [],
    );
    const size = Number(run.outputs['size-bytes']);
    expect(parts.length).toBe(Math.ceil(size / (8 << 20)));
    expect(parts.slice(0, -1).every((bytes) => bytes === 8 << 20)).toBe(true);
    expect(parts.reduce((sum, bytes) => sum + bytes, 0)).toBe(size);
  });
});

describe('a store that cannot take the backup', () => {
  it.each([
    ['a bucket that does not exist', 'no-such-bucket-shape', S3_ENV, /bucket does not exist/i],
    [
      // s3rver checks the key id, not a V4 signature: an unknown id is what it refuses.
      'a key the store does not know',
      testS3Bucket(),
      { ...S3_ENV, AWS_ACCESS_KEY_ID: 'AKIANOSUCHKEY0000000' },
      /Access Key Id you provided does not exist/,
    ],
  ])(
    '%s fails in one line naming storage, before the dump starts',
    async (_l, bucket, env, why) => {
      proxy.requests.length = 0;
      const run = await runAction(
        {
          storage: `s3://${bucket}/precheck`,
          's3-endpoint': proxy.endpoint,
          'database-url': db.url,
          name: 'db',
        },
        { env },
      );
      expect(run.code).not.toBe(0);
      const line = lastErrorLine(run);
      expect(line).toMatch(
        new RegExp(`^Input "storage": s3://${bucket}/precheck/ cannot be written`),
      );
      expect(line).toMatch(why);
      expect(run.stdout).not.toContain('Backing up');
      // One listing of the set's prefix, within the writer's policy, and nothing else was asked.
      expect(proxy.requests).toEqual([
        `GET /${bucket}/?list-type=2&max-keys=1&prefix=precheck%2Fdb%2F`,
      ]);
    },
  );
});

describe('the store misbehaves', () => {
  it('transient 503s and a connection reset mid-part: the backup succeeds and its checksum is right', async () => {
    proxy.faults = [
      { kind: 'status', status: 503, count: 2 },
      { kind: 'reset', afterBytes: 1 << 20, count: 1, match: PART },
    ];
    proxy.injected = 0;
    const run = await backupThroughProxy('transient');
    expect(run.code, run.stdout).toBe(0);
    expect(proxy.injected).toBe(3);
    const object = await s3().send(
      new GetObjectCommand({
        Bucket: testS3Bucket(),
        Key: `transient/${run.outputs['backup-key']}`,
      }),
    );
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(bytes.length).toBeGreaterThan(16 << 20);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(run.outputs['sha256']);
  });

  it('a store that stays down fails in bounded time with a clear message, leaving nothing', async () => {
    proxy.faults = [{ kind: 'down', status: 503 }];
    const started = Date.now();
    const run = await backupThroughProxy('down', { 's3-timeout': '2s' });
    proxy.faults = [];
    expect(run.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(lastErrorLine(run)).toMatch(/ServiceUnavailable|injected|503/);
    expect(await keysUnder('down')).toEqual([]);
  });

  it('a store that stalls fails in bounded time, leaving nothing', async () => {
    proxy.faults = [{ kind: 'stall', match: PART }];
    const started = Date.now();
    const run = await backupThroughProxy('stall', { 's3-timeout': '1s' });
    proxy.faults = [];
    expect(run.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(lastErrorLine(run)).toMatch(/timed out/);
    expect(await keysUnder('stall')).toEqual([]);
    expect(abortedUploads('stall')).toHaveLength(1);
  });
});

describe('the run is cancelled', () => {
  it('SIGTERM mid-backup stops pg_dump, aborts the upload, publishes nothing, exits within seconds', async () => {
    proxy.faults = [{ kind: 'stall', match: PART }];
    let signalled = 0;
    // With retries left: a signal is never a reason to run again.
    const run = await backupThroughProxy(
      'cancelled',
      { retries: '2', 'retry-delay': '1s' },
      onceShown('Backing up', 1500, (child) => {
        signalled = Date.now();
        child.kill('SIGTERM');
      }),
    );
    const exitedAfter = Date.now() - signalled;
    proxy.faults = [];
    expect(run.code).not.toBe(0);
    expect(exitedAfter).toBeLessThan(10_000);
    expect(lastErrorLine(run)).toBe('the run was cancelled; nothing was published');
    expect(run.stdout).not.toMatch(/attempt \d+ of \d+ failed/);
    expect(await keysUnder('cancelled')).toEqual([]);
    expect(abortedUploads('cancelled')).toHaveLength(1);
    expect(await pgDumpSessions()).toBe(0);
  });
});

/** Processes that still hold a file under `dir` open (an orphaned zstd or age would). */
async function holdersOf(dir: string): Promise<string[]> {
  const holders: string[] = [];
  for (const pid of (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target.startsWith(dir)) holders.push(`${pid}: ${target}`);
    }
  }
  return holders;
}

describe('the run is cancelled while programs write a directory store’s file themselves', () => {
  it.each([
    ['zstd', {}],
    ['zstd, then age', { 'age-recipients': RECIPIENT }],
  ])(
    '%s: SIGTERM stops pg_dump and the programs, and leaves no file at all, not even a partial one',
    async (_programs, inputs) => {
      // pg_dump waits for its lock on the table: the run is mid-dump for as long as this holds.
      const locker = new pg.Client({ connectionString: db.url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE filler IN ACCESS EXCLUSIVE MODE');
      const store = path.join(work, `cancelled-dir-${Object.keys(inputs).length}`);
      try {
        const run = await runAction(
          { storage: store, name: 'db', 'database-url': db.url, ...inputs },
          { onStart: signalOnceShown('which writes the file itself', 'SIGTERM', 500) },
        );
        expect(run.code).not.toBe(0);
        expect(lastErrorLine(run)).toBe('the run was cancelled; nothing was published');
        expect(await readdir(store, { recursive: true })).toEqual(['db']);
        expect(await holdersOf(store)).toEqual([]);
        expect(await pgDumpSessions()).toBe(0);
      } finally {
        await locker.end();
      }
    },
  );
});

/** The processes under `pid` (its children, theirs, …), with their program names. */
async function descendantsOf(pid: number): Promise<{ pid: number; name: string }[]> {
  const parents = new Map<number, { ppid: number; name: string }>();
  for (const entry of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const line = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (name) state ppid …: the name may hold spaces and parentheses, so split at the last ")".
    const match = /^(\d+) \((.*)\) \S+ (\d+)/s.exec(line);
    if (match) parents.set(Number(match[1]), { name: match[2] ?? '', ppid: Number(match[3]) });
  }
  const found: { pid: number; name: string }[] = [];
  const walk = (parent: number) => {
    for (const [child, { ppid, name }] of parents) {
      if (ppid !== parent) continue;
      found.push({ pid: child, name });
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** Whether a process still runs (a zombie waiting for its new parent to reap it does not). */
async function alive(pid: number): Promise<boolean> {
  const line = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return line !== '' && !/\) Z /.test(line);
}

async function partialsIn(dir: string): Promise<{ file: string; size: number }[]> {
  const files = (await readdir(dir, { recursive: true })).filter((file) => /\.partial-/.test(file));
  return Promise.all(
    files.map(async (file) => ({ file, size: (await stat(path.join(dir, file))).size })),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the action is killed outright', () => {
  it('SIGKILL mid-dump: pg_dump and zstd die with it, and the .partial file stops growing', async () => {
    // Level 19 makes the ~27 MB dump take many seconds: the run is surely mid-dump when killed.
    const store = path.join(work, 'killed');
    let children: { pid: number; name: string }[] = [];
    const run = await runAction(
      { storage: store, name: 'db', 'database-url': db.url, 'compression-level': '19' },
      {
        onStart: onceShown('which writes the file itself', 1500, (child) => {
          void descendantsOf(child.pid ?? 0).then((found) => {
            children = found;
            child.kill('SIGKILL');
          });
        }),
      },
    );
    expect(run.code).toBeNull();
    expect(children.map((child) => child.name).sort()).toEqual(['pg_dump', 'zstd']);
    await sleep(1000);
    const left = [];
    for (const child of children) if (await alive(child.pid)) left.push(child);
    expect(left).toEqual([]);
    // What a SIGKILL leaves: one hidden .partial file, no longer written (retention-prune's orphan
    // sweep removes it after orphan-grace), and no backup.
    const before = await partialsIn(store);
    expect(before).toHaveLength(1);
    await sleep(1000);
    expect(await partialsIn(store)).toEqual(before);
    expect(await holdersOf(store)).toEqual([]);
    expect(await pgDumpSessions()).toBe(0);
  });

  it('without setpriv, a second signal (an exit at once) still takes pg_dump and zstd with it', async () => {
    // A PATH with pg_dump and zstd but no setpriv: the fallback, as on a machine without util-linux.
    const bin = await mkdtemp(path.join(work, 'no-setpriv-'));
    for (const program of ['pg_dump', 'zstd']) {
      const found = execFileSync('sh', ['-c', `command -v ${program}`])
        .toString()
        .trim();
      await symlink(found, path.join(bin, program));
    }
    const store = path.join(work, 'no-setpriv-store');
    let children: { pid: number; name: string }[] = [];
    const run = await runAction(
      { storage: store, name: 'db', 'database-url': db.url, 'compression-level': '19' },
      {
        env: { PATH: bin },
        onStart: onceShown('which writes the file itself', 1500, (child) => {
          void descendantsOf(child.pid ?? 0).then((found) => {
            children = found;
            child.kill('SIGINT');
            child.kill('SIGTERM');
          });
        }),
      },
    );
    expect(run.code).toBe(130);
    expect(children.map((child) => child.name).sort()).toEqual(['pg_dump', 'zstd']);
    await sleep(500);
    const left = [];
    for (const child of children) if (await alive(child.pid)) left.push(child);
    expect(left).toEqual([]);
  });

  it('SIGTERM at compression-level 19: every program stops at once, the run exits in seconds and writes no more', async () => {
    const store = path.join(work, 'terminated-19');
    let signalledAt = 0;
    const run = await runAction(
      { storage: store, name: 'db', 'database-url': db.url, 'compression-level': '19' },
      {
        onStart: onceShown('which writes the file itself', 1500, (child) => {
          signalledAt = Date.now();
          child.kill('SIGTERM');
        }),
      },
    );
    const exitedAfter = Date.now() - signalledAt;
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toBe('the run was cancelled; nothing was published');
    // The README promises about a second; the bound leaves room for a loaded machine.
    expect(exitedAfter).toBeLessThan(10_000);
    expect(await readdir(store, { recursive: true })).toEqual(['db']);
    expect(await holdersOf(store)).toEqual([]);
  });
});

describe('a database of many tables', () => {
  it('the report output is cut to fit GitHub’s limit, and report-file holds the whole', async () => {
    // Long names make each table weigh in the report as much as 20,000 short ones would, while
    // pg_dump's one lock a table stays well inside the shared test server's lock table.
    const many = await freshDatabase('report_many');
    const schema = 's'.repeat(63);
    const tables = 2200;
    const client = new pg.Client({ connectionString: many.url });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    for (let first = 1; first <= tables; first += 440) {
      await client.query(
        `DO $$ BEGIN FOR i IN ${first}..${first + 439} LOOP
           EXECUTE format('CREATE TABLE ${schema}.%I (id int)', 'table_' || lpad(i::text, 56, '0'));
         END LOOP; END $$`,
      );
    }
    await client.end();
    const temp = await mkdtemp(path.join(work, 'runner-temp-'));
    try {
      const run = await runAction(
        {
          storage: path.join(work, 'many'),
          name: 'db',
          'database-url': many.url,
          'row-counts': 'estimate',
        },
        { env: { RUNNER_TEMP: temp } },
      );
      expect(run.code, run.stdout).toBe(0);
      expect(Buffer.byteLength(run.outputs.report ?? '')).toBeLessThanOrEqual(256 * 1024);
      expect(run.report).toMatchObject({
        ok: true,
        outputs: { 'backup-id': run.outputs['backup-id'] },
        truncated: { reportFile: run.outputs['report-file'] },
      });
      const file = run.outputs['report-file'] ?? '';
      expect(path.dirname(file)).toBe(temp);
      const whole = JSON.parse(await readFile(file, 'utf8'));
      expect(Object.keys(whole.details.manifest.rowCounts)).toHaveLength(tables);
      expect(Buffer.byteLength(run.summary)).toBeLessThan(1024 * 1024);
    } finally {
      await many.drop();
      await rm(temp, { recursive: true, force: true });
    }
  });
});

describe('runs at the same time', () => {
  it('two backups of the same set at once are both published, with distinct ids', async () => {
    const store = path.join(work, 'concurrent');
    const [a, b] = await Promise.all([
      runAction({ storage: store, name: 'db', 'database-url': db.url }),
      runAction({ storage: store, name: 'db', 'database-url': db.url }),
    ]);
    expect(a!.code, a!.stdout).toBe(0);
    expect(b!.code, b!.stdout).toBe(0);
    expect(a!.outputs['backup-id']).not.toBe(b!.outputs['backup-id']);
    expect(
      (await readdir(path.join(store, 'db'))).filter((f) => f.endsWith('.manifest.json')),
    ).toHaveLength(2);
  });

  it('a prune during a backup never removes the in-flight upload', async () => {
    const store = path.join(work, 'prune-during');
    const old = await runAction({ storage: store, name: 'db', 'database-url': db.url });
    expect(old.code).toBe(0);
    // Hold pg_dump at its table lock, so the backup stays in flight with its upload open.
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE filler IN ACCESS EXCLUSIVE MODE');
    const inFlight = runAction({ storage: store, name: 'db', 'database-url': db.url });
    let partial: string | undefined;
    for (let i = 0; i < 200 && !partial; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The backup's object, not the store's short-lived write-check file.
      partial = (await readdir(path.join(store, 'db'))).find(
        (f) => f.includes('.dump') && f.includes('.partial-'),
      );
    }
    expect(partial).toBeDefined();
    const prune = await runAction({
      mode: 'retention-prune',
      storage: store,
      name: 'db',
      'keep-last': '1',
    });
    expect(prune.code, prune.stdout).toBe(0);
    expect(existsSync(path.join(store, 'db', partial!))).toBe(true);
    await locker.query('COMMIT');
    await locker.end();
    const finished = await inFlight;
    expect(finished.code, finished.stdout).toBe(0);
    expect(existsSync(path.join(store, finished.outputs['manifest-key'] ?? ''))).toBe(true);
  });
});

describe('hostile and broken input', () => {
  it(`${BAD_INPUTS.length} bad inputs each fail with one line naming the input, and the store receives no request`, async () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(30);
    proxy.requests.length = 0;
    const dir = path.join(work, 'bad-inputs');
    await mkdir(dir);
    for (let i = 0; i < BAD_INPUTS.length; i += 4) {
      await Promise.all(
        BAD_INPUTS.slice(i, i + 4).map(async ([label, inputs, input]) => {
          const storage = inputs.storage === '/b' ? `s3://${testS3Bucket()}/bad` : inputs.storage;
          const run = await runAction(
            {
              ...inputs,
              ...(storage === undefined ? {} : { storage }),
              's3-endpoint': inputs['s3-endpoint'] ?? proxy.endpoint,
            },
            { env: S3_ENV, cwd: dir },
          );
          expect(run.code, label).not.toBe(0);
          expect(lastErrorLine(run), label).toMatch(new RegExp(`^Input "${input}": `));
        }),
      );
    }
    expect(proxy.requests).toEqual([]);
  }, 180_000);

  it('a checks-file that is not a checks file (a .env, /etc/shadow) is named by line, never echoed', async () => {
    const password = 'Sh4dowy-pass';
    const files = {
      '.env': `# settings\nDATABASE_URL=postgres://app:${password}@db.internal/shop\n`,
      shadow: `root:$6$${password}$abcdef:19000:0:99999:7:::\n`,
    };
    for (const [file, text] of Object.entries(files)) {
      const checksFile = path.join(work, file);
      await writeFile(checksFile, text);
      proxy.requests.length = 0;
      const run = await runAction(
        {
          mode: 'restore-test',
          storage: `s3://${testS3Bucket()}/checks-file`,
          's3-endpoint': proxy.endpoint,
          name: 'db',
          'database-url': db.url,
          'checks-file': checksFile,
        },
        { env: S3_ENV },
      );
      expect(run.code, file).not.toBe(0);
      const line = file === '.env' ? 2 : 1;
      expect(lastErrorLine(run)).toBe(
        `Input "checks-file": line ${line} of "${checksFile}" is not a check: give "schema.table >= N" or a SQL query (SELECT …) returning one boolean (PostgreSQL), or "dbN: keys >= N" or "dbN: exists KEY" (Redis)`,
      );
      expect(run.everything).not.toContain(password);
      expect(proxy.requests).toEqual([]);
    }
  });

  it('manifests crafted to point outside their set are corrupt: never downloaded, never deleted', async () => {
    const client = s3();
    const put = (key: string, body: string | Buffer) =>
      client.send(
        new PutObjectCommand({ Bucket: testS3Bucket(), Key: `crafted/${key}`, Body: body }),
      );
    const victim = forgeBackup('other', new Date('2026-01-01T00:00:00Z'));
    for (const [key, body] of victim.files) await put(key, body);
    const older = forgeBackup('db', new Date('2026-01-02T00:00:00Z'));
    for (const [key, body] of older.files) await put(key, body);
    for (const [index, target] of [
      victim.forged.objectKey,
      `../${victim.forged.objectKey}`,
      `/etc/passwd`,
    ].entries()) {
      const crafted = forgeBackup('db', new Date(Date.UTC(2026, 0, 3 + index)));
      const manifest = JSON.parse(crafted.files.get(crafted.forged.manifestKey)!.toString());
      manifest.object.key = target;
      await put(crafted.forged.manifestKey, JSON.stringify(manifest));
      proxy.requests.length = 0;
      const run = await runAction(
        {
          mode: 'verify-latest',
          storage: `s3://${testS3Bucket()}/crafted`,
          's3-endpoint': proxy.endpoint,
          name: 'db',
          'max-age': '3650d',
        },
        { env: S3_ENV },
      );
      expect(run.code).not.toBe(0);
      // The newest first; any earlier crafted one (also newer than the real backup) follows.
      expect(
        lastErrorLine(run).startsWith(
          `corrupt manifest ${crafted.forged.manifestKey}: object.key is not this backup’s own key`,
        ),
      ).toBe(true);
      expect(
        proxy.requests.filter(
          (r) => r.startsWith('GET') && !r.includes('manifest.json') && !r.includes('list-type'),
        ),
      ).toEqual([]);
    }
    const prune = await runAction(
      {
        mode: 'retention-prune',
        storage: `s3://${testS3Bucket()}/crafted`,
        's3-endpoint': proxy.endpoint,
        name: 'db',
        'keep-last': '1',
      },
      { env: S3_ENV },
    );
    expect(prune.code, prune.stdout).toBe(0);
    // The crafted manifests are unusable: neither counted (the real backup is the newest and
    // kept) nor deleted; the victim's files are untouched.
    expect(prune.outputs).toMatchObject({ kept: '1', deleted: '0' });
    expect(await keysUnder('crafted')).toEqual(
      expect.arrayContaining(
        [...victim.files.keys(), ...older.files.keys()].map((k) => `crafted/${k}`),
      ),
    );
  });

  it('shell metacharacters in names and values reach programs as plain arguments and run nothing', async () => {
    const marker = path.join(work, 'pwned');
    // Under PostgreSQL's 63-byte name limit; the backticks hold a harmless command.
    const weird = `s$(touch ${marker});"q'\`false\``;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${weird.replace(/"/g, '""')}"`);
    await admin.end();
    const url = new URL(db.url);
    url.pathname = `/${weird}`;
    try {
      const store = path.join(work, 'meta');
      const run = await runAction({
        storage: store,
        name: 'meta',
        'database-url': url.href,
        'pg-dump-args': `--exclude-table=$(touch ${marker})\n--exclude-table=;touch ${marker};`,
      });
      expect(run.code, run.stdout).toBe(0);
      const tested = await runAction({
        mode: 'restore-test',
        storage: store,
        name: 'meta',
        'database-url': db.url,
        checks: `SELECT '$(touch ${marker})' <> ''`,
      });
      expect(tested.code, tested.stdout).toBe(0);
      expect(existsSync(marker)).toBe(false);
    } finally {
      const cleanup = new pg.Client({ connectionString: db.url });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE "${weird.replace(/"/g, '""')}" WITH (FORCE)`);
      await cleanup.end();
    }
  });
});
