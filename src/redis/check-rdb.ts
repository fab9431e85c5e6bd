/**
 * `redis-check-rdb`, Redis's own check of an RDB snapshot's structure and checksum, on a snapshot
 * that streams from the store. It reads only a file by name, and Node's pipes to a program are
 * sockets, which /dev/stdin cannot open; so the bytes go through a named pipe (a FIFO) in a
 * private temporary folder: nothing of the snapshot is ever on disk. The same stream passes the
 * RDB reader, for the key counts the manifest is compared with.
 */
import { constants, openSync, closeSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline as pipe, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UnreadableArchiveError } from '../core/errors.js';
import { helperEnv, onPath, start, succeeded, type Program } from '../process/programs.js';
import { RdbReader, type RdbSummary } from './rdb.js';
import { readWhilePassing, storedSummary } from './rdb-stream.js';

/** Runs redis-check-rdb on the snapshot; its verdict first, then the reader's figures. */
export async function checkRdb(program: Program, archive: Readable): Promise<RdbSummary> {
  const reader = new RdbReader();
  await throughFifo(
    program,
    pipe(archive, readWhilePassing(reader), () => undefined),
  );
  return storedSummary(reader);
}

/**
 * Whether `program` reads RDB version `version`: asked of the program itself, with an empty
 * snapshot of that version, before anything is downloaded. Redis writes its format's version
 * and reads no newer one.
 */
export async function readsRdbVersion(program: Program, version: number): Promise<boolean> {
  try {
    await throughFifo(program, Readable.from([emptySnapshot(version)]));
    return true;
  } catch (error) {
    if (error instanceof NewerRdbError) return false;
    throw error;
  }
}

/** A snapshot of RDB version `version` that holds nothing, for asking a program if it reads it. */
export function emptySnapshot(version: number): Buffer {
  return Buffer.concat([
    Buffer.from(`REDIS${String(version).padStart(4, '0')}`, 'latin1'),
    Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0]), // the end, and a zero (unchecked) checksum
  ]);
}

/** The program reads RDB versions up to its own, and this snapshot is newer. */
export class NewerRdbError extends UnreadableArchiveError {}

async function throughFifo(program: Program, bytes: Readable): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'backup-action-rdb-'));
  try {
    const fifo = path.join(dir, 'snapshot.rdb');
    await makeFifo(fifo);
    const { child, exit } = start(program, [fifo], helperEnv());
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (stdout = (stdout + text).slice(-4000)));
    const written = writeInto(fifo, bytes, exit);
    const [sent, ended] = await Promise.allSettled([written, exit]);
    if (ended.status === 'rejected')
      throw new Error(`redis-check-rdb could not run: ${String(ended.reason)}`);
    // Bytes that stopped coming (a flaw the reader found, a broken download) end the checker's
    // input early: its "Unexpected EOF" follows from that cause, which is told instead. Only a
    // checker that closed its input first (EPIPE) has the finding.
    if (sent.status === 'rejected' && !closedByChecker(sent.reason)) throw sent.reason;
    if (ended.value.code !== 0) throw verdict(stdout, ended.value.code);
    if (sent.status === 'rejected') throw sent.reason;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Opening a FIFO to write waits for its reader; a checker that ends before it opens the FIFO
 * would leave that wait hanging, so its end opens the other side once to release it.
 */
async function writeInto(fifo: string, bytes: Readable, exit: Promise<unknown>): Promise<void> {
  let opened = false;
  void exit.finally(() => {
    if (opened) return;
    try {
      closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
    } catch {
      // Already gone: nothing waits.
    }
  });
  const handle = await open(fifo, constants.O_WRONLY);
  opened = true;
  // The stream closes the handle when it ends or fails.
  await pipeline(bytes, handle.createWriteStream());
}

function closedByChecker(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

async function makeFifo(file: string): Promise<void> {
  const mkfifo = await onPath('mkfifo');
  if (!mkfifo) throw new Error('mkfifo was not found on PATH (coreutils)');
  const { exit } = start({ path: mkfifo }, ['-m', '600', file], helperEnv());
  await succeeded('mkfifo', exit);
}

/** redis-check-rdb's finding, as one line. */
function verdict(stdout: string, code: number | null): Error {
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => line.includes('RDB ERROR DETECTED'));
  const finding = (at >= 0 ? lines[at + 1] : lines.at(-1))?.trim() ?? `exit code ${code}`;
  const newer = /Can't handle RDB format version (\d+)/.exec(finding);
  if (newer) return new NewerRdbError(`redis-check-rdb ${finding.replace(/^\[offset \d+\] /, '')}`);
  return new UnreadableArchiveError(`redis-check-rdb found the snapshot damaged: ${finding}`);
}
