/**
 * Delivery for every channel: a request with a time limit, retried a few times with exponential
 * backoff. The sleep is injectable so tests of retries do not wait. URLs are secrets: errors name
 * the channel, never the URL.
 */

export interface Delivery {
  /** Waits between attempts; tests pass one that does not wait. */
  sleep: (ms: number) => Promise<void>;
  attempts: number;
  timeoutMs: number;
  fetch: typeof fetch;
}

export const defaultDelivery: Delivery = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  attempts: 3,
  timeoutMs: 10_000,
  fetch: (input, init) => fetch(input, init),
};

export class DeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Sends the request until a 2xx answer; throws DeliveryError after the last attempt. */
export async function send(
  channel: string,
  url: string,
  init: { method: 'GET' | 'POST'; body?: string },
  delivery: Delivery,
): Promise<void> {
  let last = '';
  for (let attempt = 1; attempt <= delivery.attempts; attempt += 1) {
    try {
      const response = await delivery.fetch(url, {
        method: init.method,
        body: init.body,
        headers: init.body === undefined ? undefined : { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(delivery.timeoutMs),
      });
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.name : 'network error';
    }
    if (attempt < delivery.attempts) await delivery.sleep(500 * 2 ** (attempt - 1));
  }
  throw new DeliveryError(
    `${channel} notification was not delivered after ${delivery.attempts} attempts (${last})`,
  );
}
