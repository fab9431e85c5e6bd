/**
 * Which failures pass and which do not, judged on errors shaped as Node, the pg driver, the AWS
 * SDK and pg_dump give them (wrapped, as the product wraps them); and the loop that runs a run
 * again: how often, how long it waits, what it logs, and that it stops at once for a failure
 * that would only repeat. The clock is injected: nothing here waits.
 *
 * Covers: src/core/retry.ts.
 */
import { describe, expect, it } from 'vitest';
import { CancelledError, InputError } from '../../src/core/errors.js';
import {
  attemptsFact,
  diagnose,
  MAX_RETRY_DELAY_MS,
  retrying,
  type FailedAttempt,
} from '../../src/core/retry.js';
import { ModeFailure } from '../../src/core/types.js';
import { ChecksumError } from '../../src/pipeline/checksum.js';

/** An error as a library throws it: a message and the fields it sets. */
const thrown = (message: string, fields: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), fields);
/** As the product wraps it: one line naming what failed, the original as its cause. */
const wrapped = (cause: unknown) =>
  new Error('cannot connect to postgresql://app:***@db/shop', { cause });

describe('what passes', () => {
  it.each([
    [
      'connection refused',
      wrapped(thrown('connect ECONNREFUSED 10.0.0.5:5432', { code: 'ECONNREFUSED' })),
    ],
    ['connection reset', thrown('read ECONNRESET', { code: 'ECONNRESET' })],
    ['DNS: name not resolved', thrown('getaddrinfo ENOTFOUND db', { code: 'ENOTFOUND' })],
    ['DNS: temporary failure', thrown('getaddrinfo EAI_AGAIN db', { code: 'EAI_AGAIN' })],
    [
      'connection refused',
      new AggregateError([thrown('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' })], ''),
    ],
    [
      'the database is starting up',
      wrapped(thrown('the database system is starting up', { code: '57P03' })),
    ],
    ['lock timeout', thrown('canceling statement due to lock timeout', { code: '55P03' })],
    ['too many connections', thrown('sorry, too many clients already', { code: '53300' })],
    [
      'S3 503 SlowDown',
      thrown('Please reduce your request rate.', {
        name: 'SlowDown',
        $metadata: { httpStatusCode: 503 },
      }),
    ],
    [
      'S3 500',
      thrown('We encountered an internal error.', {
        name: 'UnknownError',
        $metadata: { httpStatusCode: 500 },
      }),
    ],
    [
      'S3 429',
      thrown('Too Many Requests', { name: 'Unknown', $metadata: { httpStatusCode: 429 } }),
    ],
    ['S3 TimeoutError', thrown('socket hang up', { name: 'TimeoutError' })],
    [
      'the database is starting up',
      new Error(
        'pg_dump exited with code 1: pg_dump: error: connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  the database system is starting up',
      ),
    ],
    [
      'lock timeout',
      new Error(
        'pg_dump exited with code 1: pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout',
      ),
    ],
    [
      'connection refused',
      new ModeFailure(
        'database "crm": cannot connect',
        {},
        new Error('x', { cause: thrown('', { code: 'ECONNREFUSED' }) }),
      ),
    ],
  ])('%s', (cause, error) => {
    expect(diagnose(error)).toEqual({ transient: true, cause });
  });
});

describe('what does not', () => {
  it.each([
    [
      'a wrong password',
      wrapped(thrown('password authentication failed for user "app"', { code: '28P01' })),
    ],
    ['a missing database', wrapped(thrown('database "nope" does not exist', { code: '3D000' }))],
    ['bad input', new InputError('storage', 'is required')],
    ['a checksum that does not match', new ChecksumError('sha256 of shop/x.dump is …')],
    [
      'access denied',
      thrown('Access Denied', { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
    ],
    [
      'a missing bucket',
      thrown('The specified bucket does not exist', {
        name: 'NoSuchBucket',
        $metadata: { httpStatusCode: 404 },
      }),
    ],
    ['a cancelled run', new CancelledError()],
    // A backup published before its copy failed: running again would make another backup.
    [
      'a final failure',
      new ModeFailure('published, but a copy failed', {}, thrown('', { code: 'ECONNRESET' }), true),
    ],
    ['anything unknown', new Error('pg_dump: error: invalid option')],
  ])('%s', (_what, error) => {
    expect(diagnose(error).transient).toBe(false);
  });
});

describe('running again', () => {
  const policy = { retries: 2, delayMs: 1000 };
  const setup = () => {
    const waits: number[] = [];
    const warnings: string[] = [];
    const failed: FailedAttempt[] = [];
    const ctx = {
      log: { info: () => undefined, warning: (line: string) => warnings.push(line) },
      signal: new AbortController().signal,
      sleep: async (ms: number) => void waits.push(ms),
    };
    return { waits, warnings, failed, ctx };
  };
  const refused = () => thrown('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' });
  /** A run whose every attempt is refused a connection. */
  const alwaysRefused = (ctx: Parameters<typeof retrying>[3], failed: FailedAttempt[]) =>
    retrying(
      'the run',
      async () => {
        throw refused();
      },
      policy,
      ctx,
      failed,
    );

  it('tries again after a passing failure, waiting twice as long each time, and says why', async () => {
    const { waits, warnings, failed, ctx } = setup();
    let calls = 0;
    const result = await retrying(
      'the run',
      async () => {
        calls += 1;
        if (calls < 3) throw refused();
        return 'done';
      },
      policy,
      ctx,
      failed,
    );
    expect([result, calls, waits]).toEqual(['done', 3, [1000, 2000]]);
    expect(warnings[0]).toBe(
      'the run: attempt 1 of 3 failed (connection refused): connect ECONNREFUSED 127.0.0.1:5432; trying again in 1 s',
    );
    expect(failed.map((f) => [f.attempt, f.cause, f.transient])).toEqual([
      [1, 'connection refused', true],
      [2, 'connection refused', true],
    ]);
    expect(attemptsFact(failed, true)).toBe(
      '3 (failed before: 1: connection refused; 2: connection refused)',
    );
  });

  it('gives up after retries + 1 attempts, with the last error', async () => {
    const { waits, warnings, failed, ctx } = setup();
    await expect(alwaysRefused(ctx, failed)).rejects.toThrow('ECONNREFUSED');
    expect([failed.length, waits.length]).toEqual([3, 2]);
    expect(warnings.at(-1)).toBe(
      'the run: attempt 3 of 3 failed (connection refused; no attempt left)',
    );
    expect(attemptsFact(failed, false)).toMatch(/^3, every one failed/);
  });

  it('never tries a failure that would only repeat again', async () => {
    const { waits, warnings, failed, ctx } = setup();
    let calls = 0;
    const wrong = wrapped(thrown('password authentication failed', { code: '28P01' }));
    await expect(
      retrying(
        'the run',
        async () => {
          calls += 1;
          throw wrong;
        },
        policy,
        ctx,
        failed,
      ),
    ).rejects.toBe(wrong);
    expect([calls, waits, warnings]).toEqual([1, [], []]);
    // One attempt is no news: the summary says nothing of attempts.
    expect(attemptsFact(failed, false)).toBeUndefined();
  });

  it('never waits longer than the longest retry-delay, however many attempts failed', async () => {
    const { waits, failed, ctx } = setup();
    await expect(
      retrying(
        'the run',
        async () => {
          throw refused();
        },
        { retries: 10, delayMs: MAX_RETRY_DELAY_MS },
        ctx,
        failed,
      ),
    ).rejects.toThrow('ECONNREFUSED');
    expect(waits).toEqual(Array.from({ length: 10 }, () => 6 * 3_600_000));
  });

  it('with retries 0, runs once', async () => {
    const { failed, ctx } = setup();
    let calls = 0;
    await expect(
      retrying(
        'the run',
        async () => {
          calls += 1;
          throw refused();
        },
        { retries: 0, delayMs: 1 },
        ctx,
        failed,
      ),
    ).rejects.toThrow();
    expect(calls).toBe(1);
  });

  it('a cancel during the wait ends it as cancelled', async () => {
    const controller = new AbortController();
    const failed: FailedAttempt[] = [];
    const ctx = {
      log: { info: () => undefined, warning: () => undefined },
      signal: controller.signal,
      sleep: (_ms: number, signal: AbortSignal) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted')));
          controller.abort();
        }),
    };
    await expect(alwaysRefused(ctx, failed)).rejects.toBeInstanceOf(CancelledError);
    expect(failed).toHaveLength(1);
  });
});
