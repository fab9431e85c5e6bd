/** Command-line arguments to input values. Pure, so it is tested directly. */
import { InputError } from '../core/errors.js';
import { holdsPrivateKey } from '../core/secret-shapes.js';
import { FLAG_INPUTS, INPUT_NAMES } from './names.js';
import { MODES } from '../core/settings.js';

export const USAGE = `usage: backup-action <${MODES.join('|')}> --<input> <value> ...
  Inputs have the action's names (see docs/inputs.md). --<input>-file PATH reads a value from a file,
  and BACKUP_ACTION_<INPUT> (upper case, _ for -) in the environment sets one, so that secrets
  stay out of the process list. --version prints the version; --help this.`;

export class UsageError extends Error {}

/** `--help` anywhere, or `-h` or `help` where the mode goes: the usage is what was asked for. */
export function wantsHelp(argv: readonly string[]): boolean {
  return ['--help', '-h', 'help'].includes(argv[0] ?? '') || argv.includes('--help');
}

/** `--version` anywhere (no input is named version, so it cannot be a value's option). */
export function wantsVersion(argv: readonly string[]): boolean {
  return argv.includes('--version');
}

const KNOWN = new Set<string>(INPUT_NAMES);

export function parseArgs(
  argv: readonly string[],
  readText: (file: string) => string,
): Map<string, string> {
  const values = new Map<string, string>();
  const [mode, ...rest] = argv;
  if (!mode || mode.startsWith('-')) {
    throw new UsageError(`the mode is missing; start with one of ${MODES.join(', ')} (--help)`);
  }
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`unknown mode ${shown(`"${mode}"`)}; the modes are ${MODES.join(', ')}`);
  }
  values.set('mode', mode);
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] ?? '';
    const match = /^--([a-z0-9-]+?)(?:=([\s\S]*))?$/.exec(arg);
    if (!match) {
      throw new UsageError(
        `unexpected argument ${shown(`"${arg}"`)}; give inputs as --<input> <value> (--help)`,
      );
    }
    const [, option = '', inline] = match;
    const fromFile = !KNOWN.has(option) && option.endsWith('-file');
    const input = fromFile ? option.slice(0, -'-file'.length) : option;
    if (!KNOWN.has(input) || input === 'mode') {
      throw new UsageError(
        `unknown option ${shown(`--${option}`)}; the inputs are listed in docs/inputs.md`,
      );
    }
    if (values.has(input)) {
      throw new UsageError(`--${input} is given twice; give each input once`);
    }
    let value = inline;
    if (value === undefined) {
      const next = rest[i + 1];
      const alone = next === undefined || next.startsWith('--');
      if (alone && (fromFile || !FLAG_INPUTS.has(input))) throw missingValue(option);
      // A true/false input standing alone (`--dry-run`) means true.
      value = alone ? 'true' : next;
      if (!alone) i += 1;
    }
    values.set(input, fromFile ? readInputFile(input, option, value, readText) : value);
  }
  return values;
}

/** An argument as a usage line shows it: nothing is masked yet, so a pasted key is not echoed. */
function shown(arg: string): string {
  return holdsPrivateKey(arg) ? 'a private key (not shown)' : arg;
}

function missingValue(option: string): UsageError {
  return new UsageError(
    `--${option} needs a value (one that starts with -- goes as --${option}=VALUE)`,
  );
}

/** A value from a file, without its final newline; a file that cannot be read names the input. */
function readInputFile(
  input: string,
  option: string,
  file: string,
  readText: (file: string) => string,
): string {
  try {
    return readText(file).replace(/\r?\n$/, '');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InputError(input, `--${option} "${file}" cannot be read (${reason})`);
  }
}

const PREFIX = 'BACKUP_ACTION_';

/** The program's own switches, read from the environment beside the inputs (see src/pipeline). */
const SWITCHES: ReadonlySet<string> = new Set(['BACKUP_ACTION_AGE', 'BACKUP_ACTION_ZSTD']);

function variableOf(input: string): string {
  return `${PREFIX}${input.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The environment's BACKUP_ACTION_* variables checked as the options are: a misspelled one would
 * drop its input without a word (a retention policy among them), so it is a usage error as an
 * unknown option is. One that an option overrides is named in the returned warnings.
 */
export function environmentWarnings(values: Map<string, string>, env: NodeJS.ProcessEnv): string[] {
  const byVariable = new Map(INPUT_NAMES.map((input) => [variableOf(input), input]));
  const warnings: string[] = [];
  for (const variable of Object.keys(env).sort()) {
    if (!variable.startsWith(PREFIX) || SWITCHES.has(variable)) continue;
    const input = byVariable.get(variable);
    if (input === undefined || input === 'mode') {
      throw new UsageError(
        `${shown(variable)} in the environment is not an input; BACKUP_ACTION_<INPUT> takes the names in docs/inputs.md`,
      );
    }
    if (values.has(input)) warnings.push(`--${input} is given, so ${variable} is not used`);
  }
  return warnings;
}

/** Input values from the arguments first, then from BACKUP_ACTION_* variables. */
export function inputSource(
  values: Map<string, string>,
  env: NodeJS.ProcessEnv,
): (name: string) => string {
  return (name) => values.get(name) ?? env[variableOf(name)] ?? '';
}

/** Whether an input's value is a BACKUP_ACTION_* variable's, which every service of a host may share. */
export function fromEnvironment(
  values: Map<string, string>,
  env: NodeJS.ProcessEnv,
): (name: string) => boolean {
  return (name) => !values.has(name) && (env[variableOf(name)] ?? '') !== '';
}
