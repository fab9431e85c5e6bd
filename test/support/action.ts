/**
 * Runs the bundled action the way GitHub's runner does: `node dist/index.js` with INPUT_* variables
 * (upper-cased names, hyphens kept) and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files.
 * BACKUP_ACTION_ENTRY points at another bundle (a private build while developing).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { guardRun, secretsOf } from './secrets.js';

export const ACTION_ENTRY = process.env.BACKUP_ACTION_ENTRY ?? path.resolve('dist/index.js');
export const CLI_ENTRY = process.env.BACKUP_ACTION_CLI_ENTRY ?? path.resolve('dist/cli/index.js');

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The `report` output, parsed. */
  report: Record<string, unknown> | undefined;
  /** Everything the run wrote anywhere, for checks that a secret never appears. */
  everything: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Called with the child once started (to send it signals). */
  onStart?: (child: import('node:child_process').ChildProcess) => void;
  timeoutMs?: number;
  /** Run as this (non-root) user, through runuser, e.g. to meet permissions root ignores. */
  user?: string;
  /** Another copy of the bundle (an action checked out elsewhere, as the runner finds it). */
  entry?: string;
  /** The job's RUNNER_TEMP, kept for the job's later steps; else one made and removed per run. */
  runnerTemp?: string;
}

type Started = Parameters<NonNullable<RunOptions['onStart']>>[0];

/** An `onStart` that calls `act` with the run's process `ms` after its stdout first shows `text`. */
export function onceShown(
  text: string,
  ms: number,
  act: (child: Started) => void,
): NonNullable<RunOptions['onStart']> {
  return (child) => {
    let shown = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (shown || !chunk.toString().includes(text)) return;
      shown = true;
      setTimeout(() => act(child), ms);
    });
  };
}

/** An `onStart` that sends `signal` to the run `ms` after its stdout first shows `text`. */
export function signalOnceShown(
  text: string,
  signal: NodeJS.Signals,
  ms: number,
): NonNullable<RunOptions['onStart']> {
  return onceShown(text, ms, (child) => child.kill(signal));
}

export async function runAction(
  inputs: Record<string, string>,
  options: RunOptions = {},
): Promise<ActionRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'action-run-'));
  const outputFile = path.join(dir, 'output');
  const summaryFile = path.join(dir, 'summary');
  // The runner's own temporary folder, emptied after the job as the runner does.
  const runnerTemp = path.join(dir, 'temp');
  await mkdir(runnerTemp);
  await writeFile(outputFile, '', { mode: 0o666 });
  await writeFile(summaryFile, '', { mode: 0o666 });
  if (options.user) {
    // Another user writes the runner's files: open them up (umask trims the modes given above).
    for (const file of [dir, runnerTemp, outputFile, summaryFile]) await chmod(file, 0o777);
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: options.runnerTemp ?? runnerTemp,
    ...options.env,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  try {
    const { code, stdout, stderr } = await runNode([options.entry ?? ACTION_ENTRY], env, options);
    const outputs = parseOutputs(await readFile(outputFile, 'utf8'));
    const summary = await readFile(summaryFile, 'utf8');
    const report = outputs.report
      ? (JSON.parse(outputs.report) as Record<string, unknown>)
      : undefined;
    const everything = [stdout, stderr, summary, ...Object.values(outputs)].join('\n');
    guardRun(secretsOf(inputs, env), { code, stdout, stderr, written: everything }, true);
    return { code, stdout, stderr, outputs, summary, report, everything };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the command-line program: `node dist/cli/index.js <args>`. */
export async function runCli(args: string[], options: RunOptions = {}) {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    ...options.env,
  };
  const run = await runNode([CLI_ENTRY, ...args], env, options);
  guardRun(secretsOf(cliInputs(args, env), env), { ...run, written: '' }, false);
  return run;
}

/** The inputs a command line gives (`--name value`, or BACKUP_ACTION_* variables). */
function cliInputs(args: string[], env: Record<string, string>): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('BACKUP_ACTION_')) {
      inputs[name.slice('BACKUP_ACTION_'.length).toLowerCase().replace(/_/g, '-')] = value;
    }
  }
  args.forEach((arg, i) => {
    if (arg.startsWith('--') && args[i + 1] !== undefined) inputs[arg.slice(2)] = args[i + 1]!;
  });
  return inputs;
}

function runNode(
  args: string[],
  env: Record<string, string>,
  options: RunOptions,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // process.execPath is the Node 24 that runs the tests (node_modules/.bin/node), like the runner's node24.
    const [command, commandArgs] = options.user
      ? ['runuser', ['-u', options.user, '--', process.execPath, ...args]]
      : [process.execPath, args];
    const child = spawn(command, commandArgs, {
      env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    options.onStart?.(child);
  });
}

/** Parses the runner's output file format: `name<<DELIM\nvalue\nDELIM` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!match) continue;
    const [, name = '', delimiter] = match;
    const value: string[] = [];
    for (i += 1; i < lines.length && lines[i] !== delimiter; i += 1) value.push(lines[i] ?? '');
    outputs[name] = value.join('\n');
  }
  return outputs;
}

/** The run's `::error::` lines as the runner shows them (it unescapes %25, %0D and %0A). */
export function errorLines(run: { stdout: string }): string[] {
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith('::error::'))
    .map((line) =>
      line
        .slice('::error::'.length)
        .replace(/%0D/g, '\r')
        .replace(/%0A/g, '\n')
        .replace(/%25/g, '%'),
    );
}

/** The reason a failed run gives last, the way a user reads it at the end of the log. */
export function lastErrorLine(run: { stdout: string }): string {
  return errorLines(run).at(-1) ?? '';
}
