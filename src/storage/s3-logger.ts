/**
 * The AWS SDK's warnings, through the run's own warnings. A client given no logger leaves its
 * HTTP handler on `console` (its socket-capacity and request-timeout warnings): raw lines on
 * stderr, in the SDK's words, with advice about SDK settings a user cannot change; and the rest
 * of its warnings (a store's header it cannot parse) go nowhere. Given this one, each kind of warning is said once per store, in our words
 * where we know it. The SDK's debug and info lines (one per request) are not a run's output, and
 * its errors are thrown to the caller, which reports them.
 */
import { format } from 'node:util';
import type { S3ClientConfig } from '@aws-sdk/client-s3';

type SdkLogger = NonNullable<S3ClientConfig['logger']>;

const SOCKETS_FULL = /socket usage at capacity=(\d+) and (\d+) additional requests are enqueued/;
const BAD_EXPIRES = /^AWS SDK Warning for \w+::(\w+?)(?:Command)? response parsing \((.*)\):/;

/** A warning of the SDK, in our words where we know it; else its first line, named as the SDK's. */
export function sdkWarningText(message: string): string {
  const full = SOCKETS_FULL.exec(message);
  if (full) {
    return `S3: all ${full[1]} connections to the store are busy and ${full[2]} more requests wait for one; the store answers slowly, and the run goes on at its pace`;
  }
  const expires = BAD_EXPIRES.exec(message);
  if (expires) {
    return `S3: the store answered ${expires[1]} with an Expires header that is not a date (${expires[2]}); ignored`;
  }
  return `S3: the AWS SDK warns: ${message.split('\n')[0]!.trim()}`;
}

/** What makes two warnings one kind: their text without its counts. */
const kindOf = (text: string): string => text.replace(/\d+/g, '#');

export function sdkLogger(warn: (message: string) => void): SdkLogger {
  const said = new Set<string>();
  const quiet = (): void => undefined;
  return {
    trace: quiet,
    debug: quiet,
    info: quiet,
    error: quiet,
    warn: (...content: unknown[]) => {
      const text = sdkWarningText(format(...content));
      if (said.has(kindOf(text))) return;
      said.add(kindOf(text));
      warn(text);
    },
  };
}
