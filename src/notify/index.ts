/**
 * Notifications after every mode: Slack, a JSON webhook, a heartbeat (healthchecks.io
 * convention), a GitHub issue, and the run's metrics. A channel that cannot be reached is a
 * warning; it never hides or replaces the mode's own result.
 */
import { errorMessage } from '../core/errors.js';
import type { RunReport } from '../core/report.js';
import { githubRun } from '../core/run-info.js';
import type { NotifySettings } from '../core/settings.js';
import { updateFailureIssue } from './github-issue.js';
import { defaultDelivery, send, type Delivery } from './http.js';
import { slackMessage, webhookPayload } from './messages.js';
import { publishMetrics } from './metrics-publish.js';

/** `<url>/start`, `<url>`, `<url>/fail`: the healthchecks.io convention. */
export function heartbeatUrl(base: string, phase: 'start' | 'success' | 'fail'): string {
  if (phase === 'success') return base;
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${phase}`;
  return url.href;
}

/** Tells the heartbeat the run began, so a run that never ends is noticed too. */
export async function notifyStart(
  settings: NotifySettings,
  delivery: Delivery = defaultDelivery,
): Promise<string[]> {
  if (!settings.heartbeatUrl || settings.on === 'never') return [];
  return collect([
    () =>
      send('heartbeat', heartbeatUrl(settings.heartbeatUrl!, 'start'), { method: 'GET' }, delivery),
  ]);
}

/**
 * Sends what the settings ask for, and the metrics whatever notify-on says; returns one warning
 * per channel that failed.
 */
export async function notifyEnd(
  report: RunReport,
  settings: NotifySettings,
  env: NodeJS.ProcessEnv,
  delivery: Delivery = defaultDelivery,
): Promise<string[]> {
  const [metrics, channels] = await Promise.all([
    publishMetrics(report, settings.metrics, delivery),
    announce(report, settings, env, delivery),
  ]);
  return [...metrics, ...channels];
}

async function announce(
  report: RunReport,
  settings: NotifySettings,
  env: NodeJS.ProcessEnv,
  delivery: Delivery,
): Promise<string[]> {
  if (settings.on === 'never') return [];
  const runUrl = githubRun(env)?.url;
  const announce = settings.on === 'always' || !report.ok || report.notice === true;
  const tasks: (() => Promise<unknown>)[] = [];
  const post = (channel: string, url: string, body: unknown) => () =>
    send(channel, url, { method: 'POST', body: JSON.stringify(body) }, delivery);
  if (announce && settings.slackWebhookUrl)
    tasks.push(post('Slack', settings.slackWebhookUrl, slackMessage(report, runUrl)));
  if (announce && settings.webhookUrl)
    tasks.push(post('webhook', settings.webhookUrl, webhookPayload(report, runUrl)));
  if (settings.heartbeatUrl) {
    const url = heartbeatUrl(settings.heartbeatUrl, report.ok ? 'success' : 'fail');
    tasks.push(() => send('heartbeat', url, { method: 'GET' }, delivery));
  }
  if (settings.failureIssue && settings.githubToken) {
    const token = settings.githubToken;
    tasks.push(() =>
      updateFailureIssue(report, token, env, runUrl).catch((error: unknown) => {
        throw new Error(`the failure issue was not updated: ${errorMessage(error)}`);
      }),
    );
  }
  return collect(tasks);
}

async function collect(tasks: (() => Promise<unknown>)[]): Promise<string[]> {
  const results = await Promise.allSettled(tasks.map((task) => task()));
  return results.flatMap((result) =>
    result.status === 'rejected' ? [errorMessage(result.reason)] : [],
  );
}
