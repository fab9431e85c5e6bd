/**
 * A private, temporary GNUPGHOME for one use of gpg (checking the keys given, encrypting a
 * backup, reading one object): the keys are imported into it, and it is removed once done, with
 * the gpg-agent a secret key starts in it. The user's own ~/.gnupg is never read or changed.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { helperEnv, onPath, start, type Ended } from '../process/programs.js';
import { makeRunFolder } from '../process/run-folders.js';

/** The programs of GnuPG this product runs. */
export interface GpgPrograms {
  gpg: string;
  /** Stops a home's agent; without it the agent stops on its own once its socket is removed. */
  gpgconf?: string;
}

/** gpg and gpgconf on PATH, or undefined when gpg is not installed. */
export async function findGpg(): Promise<GpgPrograms | undefined> {
  const gpg = await onPath('gpg');
  if (!gpg) return undefined;
  const gpgconf = await onPath('gpgconf');
  return gpgconf ? { gpg, gpgconf } : { gpg };
}

/**
 * The agent of a home. A key imported with a passphrase is protected again by the agent on first
 * use, by default with a strength it calibrates to about 100 ms of hashing per key: seconds on a
 * busy machine, for a copy that lives only as long as the run, in a folder only this user reads.
 * No smartcard daemon: a key on a card cannot be given as an input.
 */
const AGENT_CONF = 's2k-count 65536\ndisable-scdaemon\n';

/** The longest socket path gpg-agent can bind (sun_path, 108 bytes on Linux, with its NUL). */
const SOCKET_PATH_MAX = 107;
const HOME_PREFIX = 'backup-action-gpg-';
const LONGEST_SOCKET = `${HOME_PREFIX}XXXXXX/S.gpg-agent.browser`;

/**
 * The system's temporary folder, unless TMPDIR names one so deep that the agent's sockets would
 * not fit: gpg-agent then cannot start, and no private key can be imported.
 */
export function homesFolder(tmpdir = os.tmpdir()): string {
  return path.join(tmpdir, LONGEST_SOCKET).length <= SOCKET_PATH_MAX ? tmpdir : '/tmp';
}

/** Homes not yet removed, for a process that exits before their owner removes them. */
const open = new Set<GpgHome>();

process.on('exit', () => {
  for (const home of open) home.removeNow();
});

export interface GpgResult {
  stdout: Buffer;
  ended: Ended;
}

export class GpgHome {
  private constructor(
    readonly dir: string,
    private readonly programs: GpgPrograms,
    /** A home that will hold secret keys needs gpg-agent; one of public keys never starts it. */
    private readonly agent: boolean,
  ) {}

  /**
   * In the system's temporary folder rather than the runner's: the agent's socket lives in the
   * home, and a socket's path must stay short (108 bytes on Linux). mkdtemp makes it 0700.
   */
  static async open(programs: GpgPrograms, { agent }: { agent: boolean }): Promise<GpgHome> {
    // A leftover home holds the private keys imported into it, and its agent runs while it exists.
    const dir = await makeRunFolder(homesFolder(), HOME_PREFIX, (leftover) =>
      stopAgent(programs.gpgconf, leftover),
    );
    const home = new GpgHome(dir, programs, agent);
    open.add(home);
    if (agent) await writeFile(path.join(dir, 'gpg-agent.conf'), AGENT_CONF, { mode: 0o600 });
    return home;
  }

  /** Runs `work` with a new home, removed afterwards, pass or fail. */
  static async with<T>(
    programs: GpgPrograms,
    options: { agent: boolean },
    work: (home: GpgHome) => Promise<T>,
  ): Promise<T> {
    const home = await GpgHome.open(programs, options);
    try {
      return await work(home);
    } finally {
      await home.close();
    }
  }

  /**
   * gpg's arguments in this home: no terminal, no questions, nothing fetched from the network
   * (the keys are all here), and machine-readable status lines among its messages on stderr.
   */
  args(rest: string[]): string[] {
    return [
      '--homedir',
      this.dir,
      '--batch',
      '--no-tty',
      '--no-greeting',
      '--status-fd',
      '2',
      ...(this.agent ? ['--pinentry-mode', 'loopback'] : ['--no-autostart']),
      ...rest,
    ];
  }

  /** Starts gpg in this home; a passphrase goes through file descriptor 3, never an argument. */
  start(
    args: string[],
    stdin: 'ignore' | 'pipe' | Readable,
    stdout: 'pipe' | number,
    passphrase?: string,
  ) {
    const withPassphrase = passphrase === undefined ? args : ['--passphrase-fd', '3', ...args];
    return start(
      { path: this.programs.gpg },
      this.args(withPassphrase),
      helperEnv(),
      stdin,
      stdout,
      passphrase,
    );
  }

  /** Runs gpg to its end with `input` on its stdin; its stdout and how it ended. */
  async run(args: string[], input: string | Buffer = '', passphrase?: string): Promise<GpgResult> {
    const { child, exit } = this.start(args, 'pipe', 'pipe', passphrase);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdin?.on('error', () => undefined); // a gpg that stops early says why on stderr
    child.stdin?.end(input);
    const ended = await exit;
    return { stdout: Buffer.concat(chunks), ended };
  }

  /** Stops the home's agent (and the socket folder gpgconf may have made for it), then removes it. */
  async close(): Promise<void> {
    if (!open.delete(this)) return;
    const { gpgconf } = this.programs;
    if (this.agent && gpgconf) {
      for (const args of [['--kill', 'gpg-agent'], ['--remove-socketdir']]) {
        const { exit } = start({ path: gpgconf }, ['--homedir', this.dir, ...args], helperEnv());
        await exit.catch(() => undefined);
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The same, at once: for a process that is exiting and runs no more asynchronous code. */
  removeNow(): void {
    open.delete(this);
    const { gpgconf } = this.programs;
    if (this.agent && gpgconf) {
      spawnSync(gpgconf, ['--homedir', this.dir, '--kill', 'gpg-agent'], {
        env: helperEnv(),
        stdio: 'ignore',
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The agent of a home left by a run that was killed. */
async function stopAgent(gpgconf: string | undefined, dir: string): Promise<void> {
  if (!gpgconf) return;
  const { exit } = start({ path: gpgconf }, ['--homedir', dir, '--kill', 'gpg-agent'], helperEnv());
  await exit.catch(() => undefined);
}
