/**
 * Self-healing runs: a run that failed for a reason that passes (a connection refused or reset, a
 * name that did not resolve, S3 throttling, a 5xx or a timeout, a lock timeout, a database still
 * starting up) is run again, whole, after a pause that doubles each time. Nothing else is tried
 * again: a wrong password, a missing database, bad input or a checksum that does not match fail
 * the same way every time, and trying again would only delay the alert. A reason not known to
 * pass is taken not to.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError, errorMessage, FinalError, InputError } from './errors.js';
import type { RetrySettings } from './settings.js';
import { ModeFailure, type Logger } from './types.js';

/**
 * The longest wait between two attempts, and so the longest retry-delay: a failure that lasts
 * longer is an outage to alert on, not one to sleep through (and a wait beyond 24.8 days would
 * overflow Node's timer, which then fires at once).
 */
export const MAX_RETRY_DELAY_MS = 6 * 3_600_000;

/** Why a run failed, and whether running it again may succeed. */
export interface Diagnosis {
  transient: boolean;
  /** A few words: `connection refused`, `the database is starting up`, `S3 503 SlowDown`. */
  cause: string;
}

/** One attempt that failed. */
export interface FailedAttempt {
  attempt: number;
  error: string;
  transient: boolean;
  cause: string;
}

/** Error codes of Node's network stack (and undici's) that a later attempt may not meet. */
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection broken',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'DNS: name not resolved',
  EAI_AGAIN: 'DNS: temporary failure',
  UND_ERR_SOCKET: 'connection reset',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** PostgreSQL's SQLSTATEs of a server that is restarting, full or busy, not of a mistake. */
const SQLSTATES: Record<string, string> = {
  '57P03': 'the database is starting up',
  '57P01': 'the database was shut down',
  '57P02': 'the database crashed',
  '53300': 'too many connections',
  '55P03': 'lock timeout',
  '40001': 'serialization failure',
  '40P01': 'deadlock',
  '08000': 'connection lost',
  '08001': 'connection refused',
  '08006': 'connection lost',
};

/** What S3 and S3-compatible stores call throttling and a busy or failing service. */
const S3_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);

/** What pg_dump, pg_restore and psql print when the server is unreachable, busy or restarting. */
const PROGRAM_LINES: [RegExp, string][] = [
  [/the database system is (starting up|shutting down|in recovery mode)/i, 'the database is $1'],
  [/connection refused/i, 'connection refused'],
  [/connection reset by peer/i, 'connection reset'],
  [/server closed the connection unexpectedly/i, 'connection lost'],
  [/could not translate host name/i, 'DNS: name not resolved'],
  [/timeout expired/i, 'connection timed out'],
  [/lock timeout|could not obtain lock/i, 'lock timeout'],
  [/too many clients already|remaining connection slots are reserved/i, 'too many connections'],
];

const final: Diagnosis = { transient: false, cause: 'final' };

/** Whether `error` (or anything it was caused by) is of a kind that passes. */
export function diagnose(error: unknown): Diagnosis {
  if (error instanceof InputError) return { transient: false, cause: 'bad input' };
  if (error instanceof CancelledError) return { transient: false, cause: 'cancelled' };
  if (error instanceof ModeFailure && error.final) return final;
  for (const each of chain(error)) if (each instanceof FinalError) return final;
  for (const each of chain(error)) {
    const found = knownTransient(each);
    if (found) return { transient: true, cause: found };
  }
  return { transient: false, cause: 'permanent' };
}

function knownTransient(error: unknown): string | undefined {
  const { code, name, $metadata, message } = (error ?? {}) as {
    code?: unknown;
    name?: unknown;
    $metadata?: { httpStatusCode?: number };
    message?: unknown;
  };
  if (typeof code === 'string' && NETWORK_CODES[code]) return NETWORK_CODES[code];
  if (typeof code === 'string' && SQLSTATES[code]) return SQLSTATES[code];
  const status = $metadata?.httpStatusCode;
  if (typeof name === 'string' && S3_NAMES.has(name)) {
    return status === undefined ? `S3 ${name}` : `S3 ${status} ${name}`;
  }
  if (status !== undefined && (status >= 500 || status === 429)) return `S3 ${status}`;
  if (typeof message !== 'string') return undefined;
  for (const [pattern, cause] of PROGRAM_LINES) {
    const match = pattern.exec(message);
    if (match) return cause.replace('$1', match[1] ?? '');
  }
  return undefined;
}

/** The error, what caused it, and each error an AggregateError holds, depth first. */
function* chain(error: unknown, depth = 0): Iterable<unknown> {
  if (error === undefined || error === null || depth > 8) return;
  yield error;
  if (error instanceof AggregateError)
    for (const each of error.errors) yield* chain(each, depth + 1);
  yield* chain((error as { cause?: unknown }).cause, depth + 1);
}

export interface RetryContext {
  log: Logger;
  signal: AbortSignal;
  /** Waits, or rejects once `signal` aborts; injectable so tests need not wait. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs `work` until it succeeds, fails for a reason that does not pass, or has failed
 * `retries + 1` times; each failed attempt is logged with its cause and pushed to `failed`.
 * Rejects with the last attempt's error. `what` names the work in the log (`the run`).
 */
export async function retrying<T>(
  what: string,
  work: () => Promise<T>,
  policy: RetrySettings,
  ctx: RetryContext,
  failed: FailedAttempt[],
): Promise<T> {
  const sleep = ctx.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const { transient, cause } = diagnose(error);
      failed.push({ attempt, error: errorMessage(error), transient, cause });
      const total = policy.retries + 1;
      if (!transient || attempt >= total) {
        if (attempt > 1) {
          const why = transient ? `${cause}; no attempt left` : `${cause}: not tried again`;
          ctx.log.warning(`${what}: attempt ${attempt} of ${total} failed (${why})`);
        }
        throw error;
      }
      const ms = Math.min(policy.delayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
      ctx.log.warning(
        `${what}: attempt ${attempt} of ${total} failed (${cause}): ${errorMessage(error)}; trying again in ${Math.round(ms / 1000)} s`,
      );
      await sleep(ms, ctx.signal).catch(() => {
        throw new CancelledError();
      });
    }
  }
}

/** The summary's line on the attempts, when there was more than one. */
export function attemptsFact(
  failed: readonly FailedAttempt[],
  succeeded: boolean,
): string | undefined {
  if (failed.length === 0 || (!succeeded && failed.length === 1)) return undefined;
  const total = failed.length + (succeeded ? 1 : 0);
  const each = failed.map(({ attempt, cause }) => `${attempt}: ${cause}`).join('; ');
  return succeeded ? `${total} (failed before: ${each})` : `${total}, every one failed (${each})`;
}
