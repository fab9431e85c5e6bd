/** What each channel says: pure functions of the run's report. */
import type { RunReport } from '../core/report.js';

/** The webhook payload, versioned so receivers can rely on its shape. */
export interface WebhookPayload {
  version: 1;
  event: 'backup-action.run';
  ok: boolean;
  mode: string;
  name?: string;
  headline: string;
  runUrl?: string;
  report: RunReport;
}

export function webhookPayload(report: RunReport, runUrl?: string): WebhookPayload {
  return {
    version: 1,
    event: 'backup-action.run',
    ok: report.ok,
    mode: report.mode,
    name: report.name,
    headline: report.headline,
    runUrl,
    report,
  };
}

/** A Slack incoming-webhook message; Mattermost and Discord's /slack endpoint take it too. */
export function slackMessage(report: RunReport, runUrl?: string) {
  const notice = report.ok && report.notice === true;
  const status = notice ? 'needed attention' : report.ok ? 'succeeded' : 'FAILED';
  const set = report.name ?? '?';
  const icon = notice ? ':warning:' : report.ok ? ':white_check_mark:' : ':x:';
  const text = `${icon} backup-action ${report.mode} of ${set} ${status}: ${report.headline}`;
  const fields = [
    { title: 'Set', value: set, short: true },
    { title: 'Mode', value: report.mode, short: true },
    { title: report.ok ? 'Result' : 'Reason', value: report.headline, short: false },
  ];
  if (runUrl) fields.push({ title: 'Run', value: runUrl, short: false });
  return {
    text: runUrl ? `${text} (<${runUrl}|run>)` : text,
    attachments: [
      { color: notice ? 'warning' : report.ok ? 'good' : 'danger', fallback: text, fields },
    ],
  };
}

export function issueTitle(name: string): string {
  return `backup-action: ${name} is failing`;
}

export function issueBody(report: RunReport, runUrl?: string): string {
  return [
    `**${report.mode}** of set **${report.name ?? '?'}** failed at ${report.finishedAt}.`,
    '',
    `> ${report.headline}`,
    '',
    runUrl ? `Run: ${runUrl}` : '',
    '',
    'This issue is closed automatically by the next successful run.',
  ].join('\n');
}
