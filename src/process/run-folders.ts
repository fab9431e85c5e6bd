/**
 * Private folders of a run (gpg homes holding private keys, a decrypted archive) that a run killed
 * outright (SIGKILL, the OOM killer) could not remove. Every such folder names the process that
 * made it in its `owner` file; the next run to make one of its kind in the same place removes
 * those whose process is gone. A pid means something only in its own PID namespace: a run in a
 * container sharing /tmp is not judged.
 */
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

const OWNER_FILE = 'owner';

/** A process, told apart from a later one given the same pid by when it started. */
export interface Owner {
  pid: number;
  /** Field 22 of /proc/PID/stat, in clock ticks since boot; absent where there is no /proc. */
  started?: string;
  /** Its PID namespace, as /proc/self/ns/pid links to it (`pid:[4026531836]`). */
  namespace?: string;
}

export function formatOwner(owner: Owner): string {
  return `${[owner.pid, owner.started, owner.namespace].filter((one) => one !== undefined).join(' ')}\n`;
}

/** An owner file's text, or undefined when it is not one (torn, foreign). */
export function parseOwner(text: string): Owner | undefined {
  const match = /^([1-9]\d{0,9})(?: (\d{1,20}))?(?: (pid:\[\d{1,20}\]))?\n$/.exec(text);
  if (!match) return undefined;
  return {
    pid: Number(match[1]),
    ...(match[2] === undefined ? {} : { started: match[2] }),
    ...(match[3] === undefined ? {} : { namespace: match[3] }),
  };
}

/** Fields of /proc/PID/stat after the command name, which may itself hold spaces and parentheses. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function procStat(pid: number): string[] | undefined {
  try {
    return statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

let self: Owner | undefined;

/** This process, as its folders' owner files name it. */
export function thisProcess(): Owner {
  // Field 22 is the 20th after the name: state (3) is the first.
  self ??= {
    pid: process.pid,
    ...optionalStarted(procStat(process.pid)?.[19]),
    ...optionalNamespace(),
  };
  return self;
}

function optionalNamespace(): { namespace?: string } {
  try {
    return { namespace: readlinkSync('/proc/self/ns/pid') };
  } catch {
    return {};
  }
}

const optionalStarted = (started: string | undefined) => (started ? { started } : {});

/** Whether `owner` still runs: a zombie has ended, and a pid since reused is another process. */
export function isRunning(owner: Owner): boolean {
  const fields = procStat(owner.pid);
  if (fields) return fields[0] !== 'Z' && (owner.started ?? fields[19]) === fields[19];
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A new private folder (mkdtemp makes it 0700) named `<base>/<prefix>XXXXXX`, owned by this
 * process, once the leftovers of its kind in `base` are gone: `beforeRemove` runs on each first.
 */
export async function makeRunFolder(
  base: string,
  prefix: string,
  beforeRemove?: (dir: string) => Promise<void>,
): Promise<string> {
  await removeLeftovers(base, prefix, beforeRemove);
  const dir = await mkdtemp(path.join(base, prefix));
  await writeFile(path.join(dir, OWNER_FILE), formatOwner(thisProcess()), { mode: 0o600 });
  return dir;
}

/**
 * Removes the folders of `prefix` in `base` left by processes of this user that have ended. One
 * without an owner file is left alone: it may be one being made this very moment, or another
 * version's.
 */
async function removeLeftovers(
  base: string,
  prefix: string,
  beforeRemove?: (dir: string) => Promise<void>,
): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names.filter((one) => one.startsWith(prefix))) {
    const dir = path.join(base, name);
    if (!(await isLeftover(dir))) continue;
    await beforeRemove?.(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function isLeftover(dir: string): Promise<boolean> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory() || info.uid !== process.getuid?.()) return false;
  const text = await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => '');
  const owner = parseOwner(text);
  return owner !== undefined && owner.namespace === thisProcess().namespace && !isRunning(owner);
}
