/**
 * `metrics-file` and `pushgateway-url`, checked before any work as every input is. What only the
 * write can tell (a folder that is missing or read-only, a gateway that is down) is a warning at
 * the end instead: monitoring never fails the run.
 */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { MetricsSettings } from '../core/settings.js';
import type { Inputs } from './reader.js';

/** Reads one part of the settings, or (for a refused run) its fallback when it cannot be read. */
export type ReadPart = <T>(part: () => T, fallback: T) => T;

export function readMetrics(
  inputs: Inputs,
  cwd: string,
  read: ReadPart = (part) => part(),
): MetricsSettings {
  return {
    file: read(() => readMetricsFile(inputs, cwd), undefined),
    pushgatewayUrl: read(() => readPushgatewayUrl(inputs), undefined),
  };
}

/** The gateway's URL and the password in it, for the edge to mask. */
export function metricsSecrets(metrics: MetricsSettings): string[] {
  if (!metrics.pushgatewayUrl) return [];
  const password = decodeURIComponent(new URL(metrics.pushgatewayUrl).password);
  return password ? [metrics.pushgatewayUrl, password] : [metrics.pushgatewayUrl];
}

function readMetricsFile(inputs: Inputs, cwd: string): string | undefined {
  const value = inputs.optional('metrics-file');
  if (value === undefined) return undefined;
  const accepted =
    "use a file path ending in .prom (node_exporter's textfile collector reads only *.prom files), e.g. /var/lib/node_exporter/textfile/backup-action.prom";
  if (value.includes('\0')) {
    throw new InputError('metrics-file', 'holds a NUL character, which no path can');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || !value.endsWith('.prom')) {
    throw new InputError('metrics-file', `"${value}" is not accepted; ${accepted}`);
  }
  return path.resolve(cwd, value);
}

function readPushgatewayUrl(inputs: Inputs): string | undefined {
  // Checked for shape and never echoed: credentials may be in it.
  const value = inputs.secretUrl('pushgateway-url');
  if (value === undefined) return undefined;
  const accepted =
    "use the gateway's base URL, e.g. http://pushgateway:9091 (or https://user:password@host/prefix)";
  const url = new URL(value);
  if (/[?#]/.test(value)) {
    throw new InputError(
      'pushgateway-url',
      `has a query or fragment, which it cannot use; ${accepted}`,
    );
  }
  if (/\/metrics(\/|$)/.test(url.pathname)) {
    throw new InputError(
      'pushgateway-url',
      `names a push path; ${accepted}: the group /metrics/job/backup-action/set/<name>/mode/<mode> is added`,
    );
  }
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw new InputError(
      'pushgateway-url',
      `has a malformed %-escape in its credentials; ${accepted}`,
    );
  }
  return value;
}
