/**
 * A status of many sets pushes one Pushgateway group per set: a group the gateway refuses does not
 * stop the next (their metrics would go stale without a word), and the warning names every set
 * not pushed; a gateway that stops answering ends the pushes, the rest named too (found by the
 * hostile review: set c was never tried after b failed, and only b was named).
 *
 * Covers: src/notify/pushgateway.ts.
 */
import { describe, expect, it } from 'vitest';
import { pushMetrics } from '../../src/notify/pushgateway.js';
import type { Delivery } from '../../src/notify/http.js';

const samples = ['a', 'b', 'c'].map((set) => ({
  name: 'backup_action_last_run_timestamp_seconds',
  labels: { set, mode: 'status', store: 's3://bucket/' },
  value: 1_765_000_000,
}));

/** A gateway whose answer to each group's POST is chosen per set; every push is recorded. */
function gateway(answer: (set: string) => number | 'gone') {
  const posted: string[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if ((init?.method ?? 'GET') === 'GET') return new Response('', { status: 200 });
    const encoded = /set@base64\/([^/]+)/.exec(url)?.[1] ?? '';
    const set = Buffer.from(encoded, 'base64url').toString();
    posted.push(set);
    const status = answer(set);
    if (status === 'gone') throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    return new Response('', { status });
  }) as typeof globalThis.fetch;
  const delivery: Delivery = { sleep: async () => undefined, attempts: 1, timeoutMs: 1000, fetch };
  return { posted, delivery };
}

describe('pushing one group per set', () => {
  it('pushes every set when one is refused, and names the one not pushed', async () => {
    const { posted, delivery } = gateway((set) => (set === 'b' ? 500 : 200));
    await expect(pushMetrics('http://gw:9091', samples, delivery)).rejects.toThrow(
      /^the metrics of set\(s\) b were not pushed .*HTTP 500/,
    );
    expect(posted).toEqual(['a', 'b', 'c']);
  });

  it('stops at a gateway that no longer answers, and names every set left unpushed', async () => {
    const { posted, delivery } = gateway((set) => (set === 'a' ? 200 : 'gone'));
    await expect(pushMetrics('http://gw:9091', samples, delivery)).rejects.toThrow(
      /^the metrics of set\(s\) b, c were not pushed /,
    );
    expect(posted).toEqual(['a', 'b']);
  });

  it('pushes all and says nothing when the gateway takes every group', async () => {
    const { posted, delivery } = gateway(() => 200);
    await expect(pushMetrics('http://gw:9091', samples, delivery)).resolves.toEqual([]);
    expect(posted).toEqual(['a', 'b', 'c']);
  });
});
