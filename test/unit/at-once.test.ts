/**
 * Databases a few at a time: how `jobs` is spread between databases at once and each one's
 * pg_restore, and the all-or-nothing rules: the first failure stops the rest and is the one
 * reported, named; a cancellation is reported as it came. Work is simulated with promises.
 *
 * Covers: src/core/at-once.ts.
 */
import { describe, expect, it } from 'vitest';
import { eachAtOnce, jobsLine, spreadJobs } from '../../src/core/at-once.js';
import { InputError } from '../../src/core/errors.js';

describe('spreadJobs', () => {
  it.each([
    [1, 100, { lanes: 1, share: 1 }, '1 job(s)'],
    [2, 100, { lanes: 2, share: 1 }, '2 databases at once, 1 job(s) each'],
    [8, 3, { lanes: 3, share: 2 }, '3 databases at once, 2 job(s) each'],
    [4, 1, { lanes: 1, share: 4 }, '4 job(s)'],
    [4, 0, { lanes: 1, share: 4 }, '4 job(s)'],
  ])('jobs %i over %i databases', (jobs, count, spread, line) => {
    expect(spreadJobs(jobs, count)).toEqual(spread);
    expect(jobsLine(spreadJobs(jobs, count))).toBe(line);
  });
});

/** Resolves once `signal` aborts: work that runs until it is stopped. */
const untilStopped = (signal: AbortSignal) =>
  new Promise<void>((_resolve, reject) =>
    signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true }),
  );

describe('eachAtOnce', () => {
  it('runs `lanes` at a time and every item once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await eachAtOnce([1, 2, 3, 4, 5], 2, new AbortController().signal, String, async (item) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      done.push(item);
    });
    expect(most).toBe(2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('the first failure stops the others, starts no more, and is thrown with its name', async () => {
    const started: string[] = [];
    const stopped: string[] = [];
    const run = eachAtOnce(
      ['a', 'b', 'c', 'd'],
      2,
      new AbortController().signal,
      (x) => `db ${x}`,
      async (item, signal) => {
        started.push(item);
        if (item === 'b') throw new Error('COPY failed');
        await untilStopped(signal).catch((error: unknown) => {
          stopped.push(item);
          throw error;
        });
      },
    );
    await expect(run).rejects.toThrow(/^db b: COPY failed$/);
    expect(started).toEqual(['a', 'b']);
    expect(stopped).toEqual(['a']);
  });

  it('a cancellation stops every one and is thrown as it came, unnamed', async () => {
    const outer = new AbortController();
    const run = eachAtOnce(['a', 'b'], 2, outer.signal, String, async (_item, signal) => {
      await untilStopped(signal);
    });
    outer.abort(new Error('cancelled'));
    await expect(run).rejects.toThrow(/^stopped$/);
  });

  it("a bad input is thrown as it came: it is not the database's doing", async () => {
    const wrongKey = new InputError('age-identity', 'does not open the backup');
    await expect(
      eachAtOnce(['a'], 1, new AbortController().signal, String, () => Promise.reject(wrongKey)),
    ).rejects.toBe(wrongKey);
  });

  it('a run cancelled before it starts starts nothing', async () => {
    const outer = new AbortController();
    outer.abort(new Error('cancelled'));
    const started: string[] = [];
    await expect(
      eachAtOnce(['a'], 1, outer.signal, String, async (item) => void started.push(item)),
    ).rejects.toThrow('cancelled');
    expect(started).toEqual([]);
  });
});
