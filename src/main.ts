/** The action's edge: inputs from the runner, outputs, masking and the job summary through @actions/core. */
import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inertLines } from './core/inert-lines.js';
import { summaryMarkdown } from './core/report.js';
import { execute, type Edge } from './run.js';
import { cancelOnSignals } from './process/signals.js';

const actionEdge: Edge = {
  // warning and error lines travel inside a command whose data the toolkit escapes; info is raw.
  info: (line) => core.info(inertLines(line)),
  warning: (line) => core.warning(line),
  error: (line) => core.error(line),
  mask: (secret) => core.setSecret(secret),
  setOutput: (name, value) => core.setOutput(name, value),
  async writeSummary(report) {
    if (!process.env.GITHUB_STEP_SUMMARY) return;
    await core.summary.addRaw(summaryMarkdown(report), true).write();
  },
  // The runner's temporary folder, emptied after each job: there for a later step to read or
  // upload, while the `report` output may be cut to fit GitHub's limit. Without a runner there is
  // no folder that anyone empties, so no file is left behind.
  async saveReport(json) {
    const dir = process.env.RUNNER_TEMP;
    if (!dir) return undefined;
    const file = path.join(dir, `backup-action-report-${randomBytes(6).toString('hex')}.json`);
    await writeFile(file, json, { mode: 0o600, flag: 'wx' });
    return file;
  },
};

export async function run(): Promise<void> {
  const { signal, dispose } = cancelOnSignals();
  try {
    const report = await execute((name) => core.getInput(name), actionEdge, {
      env: process.env,
      signal,
    });
    if (!report.ok) process.exitCode = 1;
  } finally {
    dispose();
  }
}
