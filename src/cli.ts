/**
 * The command-line entry point, for cron, systemd timers and Kubernetes CronJobs:
 *   backup-action <mode> --<input> <value> ...
 * It runs the same code as the action; logs go to stdout, warnings and errors to stderr, and the
 * exit code is 0 on success, 1 on failure and 2 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { InputError } from './core/errors.js';
import {
  environmentWarnings,
  fromEnvironment,
  inputSource,
  parseArgs,
  USAGE,
  wantsHelp,
  wantsVersion,
} from './inputs/cli-args.js';
import { inertLines } from './core/inert-lines.js';
import { summaryText } from './core/report.js';
import { execute, type Edge } from './run.js';
import { cancelOnSignals } from './process/signals.js';
import { TOOL } from './core/version.js';
import { nodeTooOld } from './core/node-version.js';

/**
 * Writes to `stream` until its reader goes away (`status | head`, a log shipper that died): then
 * the rest is dropped rather than the run killed by EPIPE half-way through a backup; the exit
 * code still says how the run went.
 */
function lineWriter(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
  });
  return (text) => {
    // The command line also runs in a workflow's `run:` step, where the runner reads its output.
    if (!closed) stream.write(inertLines(text));
  };
}
const stdout = lineWriter(process.stdout);
const stderr = lineWriter(process.stderr);

const cliEdge: Edge = {
  info: (line) => stdout(`${line}\n`),
  warning: (line) => stderr(`warning: ${line}\n`),
  error: (line) => stderr(`error: ${line}\n`),
  mask: () => undefined,
  setOutput: () => undefined,
  async writeSummary(report) {
    stdout(`\n${summaryText(report)}\n`);
    for (const [name, value] of Object.entries(report.outputs)) stdout(`${name}=${value}\n`);
  },
};

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const tooOld = nodeTooOld(process.versions.node);
  if (tooOld) {
    stderr(`error: ${tooOld}\n`);
    return 1;
  }
  if (wantsVersion(argv)) {
    stdout(`${TOOL.name} ${TOOL.version} (Node.js ${process.versions.node})\n`);
    return 0;
  }
  if (wantsHelp(argv)) {
    stdout(`${USAGE}\n`);
    return 0;
  }
  let values: Map<string, string>;
  try {
    values = parseArgs(argv, (file) => readFileSync(file, 'utf8'));
    for (const warning of environmentWarnings(values, env)) cliEdge.warning(warning);
  } catch (error) {
    stderr(`error: ${(error as Error).message}\n`);
    // A file that cannot be read is bad input, as a bad value would be.
    return error instanceof InputError ? 1 : 2;
  }
  const { signal, dispose } = cancelOnSignals();
  try {
    const report = await execute(inputSource(values, env), cliEdge, {
      env,
      signal,
      shared: fromEnvironment(values, env),
    });
    return report.ok ? 0 : 1;
  } finally {
    dispose();
  }
}

// Not a top-level await: the single executable runs this bundle as a CommonJS script, which has none.
void main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
