/**
 * A real apt repository on 127.0.0.1 for the client-install tests: this machine's own PostgreSQL
 * client packages (fetched with `apt-get download`), a `Packages` index made from them with their
 * real sizes and SHA256 sums, served under `dists/<codename>-pgdg/main/binary-<arch>/`. It records
 * every request, and can serve a tampered copy of a package.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const run = promisify(execFile);

export interface AptMirror {
  url: string;
  requests: string[];
  /** The major of the client packages it holds. */
  major: number;
  /** Serve this package's file with one byte changed (its index entry keeps the true sum). */
  tamper?: string;
  close(): Promise<void>;
}

export async function startAptMirror(major: number): Promise<AptMirror> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'apt-mirror-'));
  const packages = [`postgresql-client-${major}`, 'libpq5'];
  try {
    await run('apt-get', ['download', ...packages], { cwd: dir });
  } catch (error) {
    throw new Error(
      `the apt mirror for these tests needs \`apt-get download ${packages.join(' ')}\` to work (Debian's package lists: apt-get update): ${(error as Error).message}`,
    );
  }
  const { stdout: arch } = await run('dpkg', ['--print-architecture']);
  const release = await readFile('/etc/os-release', 'utf8');
  const codename = /^VERSION_CODENAME=(\w+)/m.exec(release)?.[1] ?? 'bookworm';
  const files = new Map<string, Buffer>();
  const stanzas: string[] = [];
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.deb'))) {
    const bytes = await readFile(path.join(dir, name));
    const pool = `pool/main/${name}`;
    files.set(`/${pool}`, bytes);
    const { stdout: control } = await run('dpkg-deb', ['-f', path.join(dir, name)]);
    stanzas.push(
      `${control.trim()}\nFilename: ${pool}\nSize: ${bytes.length}\nSHA256: ${createHash('sha256').update(bytes).digest('hex')}\n`,
    );
  }
  await rm(dir, { recursive: true, force: true });
  const index = `/dists/${codename}-pgdg/main/binary-${arch.trim()}/Packages`;
  files.set(index, Buffer.from(stanzas.join('\n')));
  files.set(`${index}.gz`, gzipSync(files.get(index)!));

  const mirror: AptMirror = { url: '', requests: [], major, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    mirror.requests.push(url);
    let body = files.get(url);
    if (body && mirror.tamper && url.includes(`/${mirror.tamper}_`)) {
      body = Buffer.from(body);
      body[body.length - 100] = (body[body.length - 100] ?? 0) ^ 0xff;
    }
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirror.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mirror.close = () => new Promise((resolve) => server.close(() => resolve()));
  return mirror;
}
