/** Error kinds the edge reports differently: bad input, a failed check, and cancellation. */

/** A bad input, found before any work starts. Its message is one line naming the input. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    detail: string,
  ) {
    super(`Input "${input}": ${detail}`);
    this.name = 'InputError';
  }
}

/** The run was cancelled (SIGINT/SIGTERM), as GitHub does when a run is cancelled. */
export class CancelledError extends Error {
  constructor(message = 'the run was cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/**
 * A failure that running the whole run again must not follow: the retry would fail for another
 * reason (a restore that wrote into its empty target would be refused as not empty) and hide this
 * one. It keeps the message of the error it stands for, and that error as its cause.
 */
export class FinalError extends Error {
  constructor(cause: unknown) {
    super(errorMessage(cause), { cause });
    this.name = 'FinalError';
  }
}

/**
 * A full disk (ENOSPC, or EDQUOT for a quota) as one line naming where it happened, or undefined
 * for any other error.
 */
export function diskFullError(error: unknown, where: string, detail = ''): Error | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  return new Error(`${where} ran out of disk space (${code})${detail}`, { cause: error });
}

/** The message of anything thrown, on one line, for logs and summaries. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

/** Bytes that decrypt and decompress but are not an archive its tools can read. */
export class UnreadableArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableArchiveError';
  }
}
