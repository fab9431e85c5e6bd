// Timing programs, their memory, the machine's busy time, and what the machine is.
import { spawn, type StdioNull, type StdioPipe } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import type { Machine } from './results.ts';

export const log = (...parts: unknown[]): void =>
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const at = (i: number) => sorted[i] ?? Number.NaN;
  return sorted.length % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
}

export const mb = (bytes: number): number => bytes / 1024 / 1024;

/** How long `fn` takes to settle, in seconds. */
export async function secondsOf(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export interface Timed {
  seconds: number;
  stdout: string;
  stderr: string;
  /** The process's resident-set high-water mark plus its zstd's and age's, when watched. */
  peakMb: number;
}

export interface TimedOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the program's output goes: collected by default, or a file descriptor. */
  stdout?: StdioPipe | StdioNull | number;
  watchMemory?: boolean;
}

// The product's zstd and age programs count as its memory (pg_dump, the database's, not).
const PRODUCT_PROGRAMS = new Set(['zstd', 'age']);

/**
 * Runs a program (no shell), timing it; with `watchMemory`, polls /proc/<pid>/status for the
 * high-water mark of its resident set (VmHWM), plus those of its zstd and age children, until it
 * exits.
 */
export function runTimed(
  file: string,
  argv: readonly string[],
  { env = process.env, stdout = 'pipe', watchMemory = false }: TimedOptions = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { env, stdio: ['ignore', stdout, 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr
      ?.setEncoding('utf8')
      .on('data', (text: string) => (err = (err + text).slice(-8000)));
    let ownKb = 0;
    const programKb = new Map<string, number>();
    const poll = () => {
      ownKb = Math.max(ownKb, highWaterKb(child.pid).kb);
      for (const pid of childPids(child.pid)) {
        const { name, kb } = highWaterKb(pid);
        if (PRODUCT_PROGRAMS.has(name)) programKb.set(name, Math.max(programKb.get(name) ?? 0, kb));
      }
    };
    const timer = watchMemory ? setInterval(poll, 20) : undefined;
    child.on('error', reject);
    child.on('exit', () => {
      if (timer) clearInterval(timer);
    });
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) {
        const tail = err.trim().split('\n').slice(-5).join(' | ');
        reject(new Error(`${path.basename(file)} ${argv[0]} failed (${code ?? signal}): ${tail}`));
        return;
      }
      const programsKb = [...programKb.values()].reduce((sum, kb) => sum + kb, 0);
      resolve({ seconds, stdout: out, stderr: err, peakMb: (ownKb + programsKb) / 1024 });
    });
  });
}

/** A process's name and the high-water mark of its resident set (0 once it is gone). */
function highWaterKb(pid: number | string | undefined): { name: string; kb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      name: /^Name:\s+(\S+)/m.exec(status)?.[1] ?? '',
      kb: Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0),
    };
  } catch {
    return { name: '', kb: 0 };
  }
}

function childPids(pid: number | undefined): string[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * CPU time the whole machine spent busy so far, in core-seconds (/proc/stat: user, nice, system,
 * irq, softirq; in USER_HZ, 100 per second on Linux). Taken around a run, it counts every process
 * that run keeps busy, the database server's included.
 */
function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Runs `fn`, adding the machine's busy core-seconds during it to `into`. */
export async function busyDuring<T>(into: number[], fn: () => Promise<T>): Promise<T> {
  const before = machineBusySeconds();
  const result = await fn();
  into.push(machineBusySeconds() - before);
  return result;
}

/** The CLI's `name=value` outputs. */
export function outputs(stdout: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^([a-z-]+)=(.*)$/.exec(line);
    if (match?.[1] && match[1] !== 'report') found[match[1]] = match[2] ?? '';
  }
  return found;
}

export function machine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? '?';
  let system = `${os.type()} ${os.release()}`;
  try {
    const release = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (release) system = `${release}, kernel ${os.release()}`;
  } catch {
    // No os-release (not Linux): the kernel's name will do.
  }
  return {
    nproc: os.availableParallelism(),
    cpu: model,
    memoryGb: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    os: system,
  };
}

/** The program's path when it is on PATH (checked, not run through a shell). */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}
