/**
 * What gpg says on stderr with `--status-fd 2`: machine-readable `[GNUPG:]` status lines (doc/DETAILS
 * in GnuPG) among its messages for people. Decisions are taken on the status lines only; the
 * messages are quoted in failures. Pure, so it is tested directly.
 */

export interface GpgOutcome {
  /** Each status line's keyword and arguments, in order. */
  status: { keyword: string; args: string[] }[];
  /** gpg's own lines, without the status lines and gpg's `gpg: ` prefix. */
  messages: string[];
}

const STATUS_PREFIX = '[GNUPG:] ';

export function parseGpgOutput(stderr: string): GpgOutcome {
  const outcome: GpgOutcome = { status: [], messages: [] };
  for (const line of stderr.split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    if (text.startsWith(STATUS_PREFIX)) {
      const [keyword = '', ...args] = text.slice(STATUS_PREFIX.length).split(' ');
      outcome.status.push({ keyword, args });
    } else {
      outcome.messages.push(text.replace(/^gpg: /, ''));
    }
  }
  return outcome;
}

/** The arguments of every status line with this keyword. */
export function statusArgs(outcome: GpgOutcome, keyword: string): string[][] {
  return outcome.status.filter((line) => line.keyword === keyword).map((line) => line.args);
}

/** GnuPG's error code for a bad passphrase (GPG_ERR_BAD_PASSPHRASE), whatever its source. */
const BAD_PASSPHRASE = 11;

/** gpg needed a passphrase (for a secret key, or for a file made with --symmetric). */
export function passphraseAsked(outcome: GpgOutcome): boolean {
  return outcome.status.some((line) => line.keyword.startsWith('NEED_PASSPHRASE'));
}

/** The passphrase given was wrong: BAD_PASSPHRASE, or an ERROR line with its code. */
export function passphraseRejected(outcome: GpgOutcome): boolean {
  return outcome.status.some(
    (line) =>
      line.keyword === 'BAD_PASSPHRASE' ||
      (line.keyword === 'ERROR' && errorCode(line.args[1]) === BAD_PASSPHRASE),
  );
}

/** An ERROR line's code: a number (source in the high bits), or `11_BAD_PASSPHRASE`. */
function errorCode(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)/.exec(text);
  return match ? Number(match[1]) & 0xffff : undefined;
}

/** gpg's messages as one line, for a failure no status line explains. */
export function messagesLine(outcome: GpgOutcome): string {
  return outcome.messages.slice(-3).join(' | ') || 'no message';
}
