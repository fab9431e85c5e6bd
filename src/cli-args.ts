/** Command-line arguments to input values. Pure, so it is tested directly. */
import { INPUT_NAMES } from './inputs/names.js';
import { MODES } from './settings.js';

export const USAGE = `usage: backup-action <${MODES.join('|')}> --<input> <value> ...
  Inputs have the action's names (see action.yml). --<input>-file PATH reads a value from a file,
  and BACKUP_ACTION_<INPUT> (upper case, _ for -) in the environment sets one, so that secrets
  stay out of the process list.`;

export class UsageError extends Error {}

const KNOWN = new Set<string>(INPUT_NAMES);

export function parseArgs(
  argv: readonly string[],
  readText: (file: string) => string,
): Map<string, string> {
  const values = new Map<string, string>();
  const [mode, ...rest] = argv;
  if (!mode || mode.startsWith('-')) throw new UsageError(`the mode is missing\n${USAGE}`);
  values.set('mode', mode);
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] ?? '';
    const match = /^--([a-z0-9-]+?)(?:=([\s\S]*))?$/.exec(arg);
    if (!match) throw new UsageError(`unexpected argument "${arg}"\n${USAGE}`);
    const [, option = '', inline] = match;
    let value = inline;
    if (value === undefined) {
      const next = rest[i + 1];
      // A flag with no value (`--dry-run`) means true.
      value = next === undefined || next.startsWith('--') ? 'true' : next;
      if (value === next) i += 1;
    }
    const fromFile = !KNOWN.has(option) && option.endsWith('-file');
    const input = fromFile ? option.slice(0, -'-file'.length) : option;
    if (!KNOWN.has(input) || input === 'mode') {
      throw new UsageError(
        `unknown option --${option}; the inputs are listed in action.yml\n${USAGE}`,
      );
    }
    values.set(input, fromFile ? readText(value).replace(/\r?\n$/, '') : value);
  }
  return values;
}

/** Input values from the arguments first, then from BACKUP_ACTION_* variables. */
export function inputSource(
  values: Map<string, string>,
  env: NodeJS.ProcessEnv,
): (name: string) => string {
  return (name) =>
    values.get(name) ?? env[`BACKUP_ACTION_${name.toUpperCase().replace(/-/g, '_')}`] ?? '';
}
