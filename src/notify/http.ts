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
  constructor(
    channel: string,
    /** What went wrong, without the URL: `after 3 attempts (HTTP 500)`. */
    readonly reason: string,
    /** Whether the server answered at all (an HTTP error), rather than not being reached in time. */
    readonly answered = false,
  ) {
    super(`${channel} notification was not delivered ${reason}`);
    this.name = 'DeliveryError';
  }
}

export interface Request {
  method: 'GET' | 'POST' | 'PUT';
  body?: string;
  /** Sent as is; a body goes as JSON unless these say otherwise. */
  headers?: Record<string, string>;
}

/** No answer this tool reads is larger (a Pushgateway's metrics); a longer one is refused. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

class AnswerTooLarge extends Error {}

/** Sends the request until a 2xx answer, and returns its body; throws DeliveryError after the last attempt. */
export async function send(
  channel: string,
  url: string,
  init: Request,
  delivery: Delivery,
): Promise<string> {
  let last = '';
  let answered = false;
  for (let attempt = 1; attempt <= delivery.attempts; attempt += 1) {
    try {
      const response = await delivery.fetch(url, {
        method: init.method,
        body: init.body,
        headers: {
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        signal: AbortSignal.timeout(delivery.timeoutMs),
      });
      if (response.ok) return await answer(response);
      last = `HTTP ${response.status}`;
      answered = true;
      await response.body?.cancel();
    } catch (error) {
      last = failure(error);
    }
    if (attempt < delivery.attempts) await delivery.sleep(500 * 2 ** (attempt - 1));
  }
  throw new DeliveryError(channel, `after ${delivery.attempts} attempts (${last})`, answered);
}

/** The body, read within the request's time limit and up to MAX_ANSWER_BYTES. */
async function answer(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
    size += read.value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader?.cancel();
      throw new AnswerTooLarge('an answer over 16 MiB');
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A network error's code (ECONNREFUSED, ENOTFOUND), else the error's kind (TimeoutError). */
function failure(error: unknown): string {
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === 'string') return code;
  if (error instanceof AnswerTooLarge) return error.message;
  // fetch refuses some ports outright ("bad port"): its cause says so, its name does not.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message) return cause.message;
  return error instanceof Error ? error.name : 'network error';
}
