/**
 * A Pushgateway, for runs that no Prometheus scrapes (CronJobs, CI runners): the run's metrics go
 * to the group of their set and mode, under the job `backup-action` (a status of many sets pushes
 * one group per set). The group is read back first
 * and merged as a metrics file is, so the size before the last backup can be told; the push is a
 * POST, which replaces only the metrics it holds, so a failed run leaves the group's last success
 * time and last backup size as they were even when the group could not be read.
 */
import { errorMessage } from '../core/errors.js';
import { parseExposition, renderExposition, type Family, type Sample } from './exposition.js';
import { DeliveryError, send, type Delivery } from './http.js';
import { familyOf, isOurs, mergeRun } from './metrics.js';

export const PUSH_JOB = 'backup-action';

const CHANNEL = 'pushgateway-url';

/** The samples of one set and mode: one Pushgateway group. */
interface Group {
  set: string;
  mode: string;
  samples: Sample[];
}

/** The gateway's URL without credentials, and the credentials as a Basic authorization header. */
export function gatewayTarget(base: string): { url: string; headers: Record<string, string> } {
  const url = new URL(base);
  const headers: Record<string, string> = {};
  if (url.username || url.password) {
    const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return { url: url.href.replace(/\/$/, ''), headers };
}

/**
 * The group's path: the set's name in base64 (URL-safe), as the Pushgateway accepts any label
 * value, so that no name can be taken for a path segment of another meaning.
 */
export function groupPath(set: string, mode: string): string {
  const encoded = Buffer.from(set).toString('base64url') || '=';
  return `/metrics/job/${PUSH_JOB}/set@base64/${encoded}/mode/${encodeURIComponent(mode)}`;
}

/**
 * Pushes the run's samples, each set's to its own group (a status over a whole store or fleet
 * reports many sets). Returns warnings, or throws when a group was not pushed.
 */
export async function pushMetrics(
  base: string,
  run: readonly Sample[],
  delivery: Delivery,
): Promise<string[]> {
  const groups = groupsOf(run);
  if (groups.length === 0) return [];
  const { url, headers } = gatewayTarget(base);
  const warnings: string[] = [];
  let previous: Sample[] = [];
  let families = new Map<string, Family>();
  try {
    const parsed = parseExposition(
      await send(CHANNEL, `${url}/metrics`, { method: 'GET', headers }, delivery),
      isOurs,
    );
    previous = parsed.samples;
    families = parsed.families;
  } catch (error) {
    // A gateway that did not answer at all would only make the push wait as long again.
    if (error instanceof DeliveryError && !error.answered) {
      throw new Error(`the metrics were not pushed ${reason(error)}`);
    }
    warnings.push(
      `the group could not be read back ${reason(error)}; pushed without the previous backup size`,
    );
  }
  const failed = await pushGroups(url, headers, groups, { previous, families }, delivery);
  if (failed) {
    const which = groups.length > 1 ? ` of set(s) ${failed.sets.join(', ')}` : '';
    throw new Error(`the metrics${which} were not pushed ${failed.reason}`);
  }
  return warnings;
}

/** The run's samples by the group they belong to: their set and mode. */
function groupsOf(run: readonly Sample[]): Group[] {
  const groups = new Map<string, Group>();
  for (const sample of run) {
    const { set, mode } = sample.labels;
    if (set === undefined || mode === undefined) continue;
    const key = JSON.stringify([set, mode]);
    const group = groups.get(key) ?? { set, mode, samples: [] };
    group.samples.push(sample);
    groups.set(key, group);
  }
  return [...groups.values()];
}

const ADDED = ['job', 'instance'];

/** A sample of the group, without the labels the gateway adds (job, instance). */
function inGroup(sample: Sample, set: string, mode: string): Sample[] {
  const { job, set: itsSet, mode: itsMode } = sample.labels;
  if (job !== PUSH_JOB || itsSet !== set || itsMode !== mode) return [];
  const labels = Object.entries(sample.labels).filter(([name]) => !ADDED.includes(name));
  return [{ ...sample, labels: Object.fromEntries(labels) }];
}

function reason(error: unknown): string {
  return error instanceof DeliveryError ? error.reason : `(${errorMessage(error)})`;
}

/**
 * Every group pushed, one failing not stopping the next (each set's metrics would go stale
 * without a word); a gateway that stops answering at all ends it, the rest counted as failed.
 */
async function pushGroups(
  url: string,
  headers: Record<string, string>,
  groups: Group[],
  { previous, families }: { previous: Sample[]; families: Map<string, Family> },
  delivery: Delivery,
): Promise<{ sets: string[]; reason: string } | undefined> {
  const sets: string[] = [];
  let first = '';
  for (const [index, { set, mode, samples }] of groups.entries()) {
    const before = previous.flatMap((sample) => inGroup(sample, set, mode));
    const body = renderExposition(mergeRun(before, samples), familyOf(families));
    try {
      await send(
        CHANNEL,
        `${url}${groupPath(set, mode)}`,
        {
          method: 'POST',
          body,
          headers: { ...headers, 'content-type': 'text/plain; version=0.0.4' },
        },
        delivery,
      );
    } catch (error) {
      first ||= reason(error);
      const gone = error instanceof DeliveryError && !error.answered;
      sets.push(...(gone ? groups.slice(index).map((group) => group.set) : [set]));
      if (gone) break;
    }
  }
  return sets.length > 0 ? { sets: [...new Set(sets)], reason: first } : undefined;
}
