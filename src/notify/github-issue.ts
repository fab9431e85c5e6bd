/**
 * One open issue per failing set: opened on the first failure, commented on later ones, closed
 * with a comment on the next success. GITHUB_API_URL is honoured (GitHub Enterprise, tests).
 */
import type { RunReport } from '../core/report.js';
import { issueBody, issueTitle } from './messages.js';

export const ISSUE_LABEL = 'backup-failure';

export async function updateFailureIssue(
  report: RunReport,
  token: string,
  env: NodeJS.ProcessEnv,
  runUrl?: string,
): Promise<void> {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo) throw new Error('failure-issue needs GITHUB_REPOSITORY (it runs on GitHub)');
  // Loaded only here: Octokit is large, and most runs never open an issue.
  const { getOctokit } = await import('@actions/github');
  const octokit = getOctokit(token, { baseUrl: env.GITHUB_API_URL ?? 'https://api.github.com' });
  const title = issueTitle(report.name ?? report.mode);
  const open = await octokit.rest.issues.listForRepo({
    owner,
    repo,
    state: 'open',
    labels: ISSUE_LABEL,
    per_page: 100,
  });
  const existing = open.data.find((issue) => issue.title === title);
  if (!report.ok) {
    if (existing) {
      await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: existing.number,
        body: issueBody(report, runUrl),
      });
    } else {
      await octokit.rest.issues.create({
        owner,
        repo,
        title,
        body: issueBody(report, runUrl),
        labels: [ISSUE_LABEL],
      });
    }
    return;
  }
  if (!existing) return;
  await octokit.rest.issues.createComment({
    owner,
    repo,
    issue_number: existing.number,
    body: `Recovered: **${report.mode}** succeeded at ${report.finishedAt}. ${report.headline}${runUrl ? `\n\nRun: ${runUrl}` : ''}`,
  });
  await octokit.rest.issues.update({ owner, repo, issue_number: existing.number, state: 'closed' });
}
