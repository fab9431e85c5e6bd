/** The input reader every parser shares: trimming, lists, choices, numbers, durations. */
import { InputError } from '../core/errors.js';
import { DURATION_HELP, parseDuration } from '../core/duration.js';
import { INPUT_NAMES, isGiven, type InputName } from './names.js';

/** Returns an input's raw value, or '' when it was not given (as @actions/core does). */
export type InputSource = (name: InputName) => string;

/** Reads inputs with the helpers every parser shares; names are typed, so a misspelled one does not compile. */
export class Inputs {
  /** What the parsers looked at, so that what they never did can be named (`unread`). */
  private readonly read = new Set<InputName>();
  /** Why an input was left unread on purpose, for its unused-input line (`notUsed`). */
  private readonly reasons = new Map<InputName, string>();

  /** `env`: the run's environment, where inputs name variables (a store's `credentials=NAME`). */
  constructor(
    private readonly source: InputSource,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  text(name: InputName): string {
    return this.raw(name).trim();
  }

  /** Inputs given a value of their own (not empty, not action.yml's default) that no parser read. */
  unread(): InputName[] {
    return INPUT_NAMES.filter((name) => !this.read.has(name) && isGiven(name, this.source(name)));
  }

  /** Whether an input has a value of its own (see `unread`), without counting it as read. */
  given(name: InputName): boolean {
    return isGiven(name, this.source(name));
  }

  /** Marks an input left unread because of another's value, so its refusal can say why. */
  notUsed(name: InputName, because: string): void {
    this.reasons.set(name, because);
  }

  /** Why an unread input was not read, when a parser said so. */
  reason(name: InputName): string | undefined {
    return this.reasons.get(name);
  }

  private raw(name: InputName): string {
    this.read.add(name);
    return this.source(name);
  }

  optional(name: InputName): string | undefined {
    return this.text(name) || undefined;
  }

  /** One value per line; blank lines dropped (and `#` comments, where a line cannot start with #). */
  lines(name: InputName, { comments = true } = {}): string[] {
    return valueLines(this.raw(name), { comments }).map(({ text }) => text);
  }

  oneOf<T extends string>(name: InputName, allowed: readonly T[], fallback: T): T {
    const value = this.text(name) || fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InputError(name, `"${value}" is not accepted; use ${listOf(allowed)}`);
    }
    return value as T;
  }

  boolean(name: InputName, fallback: boolean): boolean {
    const value = this.text(name).toLowerCase();
    if (value === '') return fallback;
    if (value === 'true' || value === 'yes') return true;
    if (value === 'false' || value === 'no') return false;
    throw new InputError(name, `"${this.text(name)}" is not accepted; use true or false`);
  }

  integer(name: InputName, { min, max }: { min: number; max: number }): number | undefined {
    const value = this.text(name);
    if (value === '') return undefined;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InputError(
        name,
        `"${value}" is not accepted; use a whole number from ${min} to ${max}`,
      );
    }
    return parsed;
  }

  duration(name: InputName, fallback?: string): number {
    const value = this.text(name) || fallback || '';
    const ms = parseDuration(value);
    if (ms === undefined)
      throw new InputError(name, `"${value}" is not accepted; use ${DURATION_HELP}`);
    return ms;
  }

  /** A URL input that is a secret (webhooks): checked for shape, never echoed back. */
  secretUrl(name: InputName): string | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    if (!/^https?:\/\/[^\s/]+/i.test(value) || !URL.canParse(value)) {
      throw new InputError(name, 'is not accepted; use an http:// or https:// URL');
    }
    return value;
  }
}

export function listOf(values: readonly string[]): string {
  return values.length < 2
    ? values.join('')
    : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** The lines of a text that hold a value, trimmed and with their 1-based numbers (see `lines`). */
export function valueLines(
  text: string,
  { comments = true } = {},
): { number: number; text: string }[] {
  return text
    .split(/\r?\n/)
    .map((line, index) => ({ number: index + 1, text: line.trim() }))
    .filter(({ text: line }) => line !== '' && !(comments && line.startsWith('#')));
}
