/**
 * Notifications from the real action to a real HTTP server: Slack, webhook, heartbeat and the
 * GitHub failure issue, a channel that is down, and no secret in anything sent.
 *
 * Covers: src/notify/index.ts, src/notify/http.ts, src/notify/github-issue.ts,
 * src/notify/messages.ts, src/modes/notify.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction } from '../support/action.js';
import { startRecorder, type Recorder } from '../support/recorder.js';
import { sampleSource } from '../support/db.js';

const TOKEN = 'ghs_notARealTokenButSecret123';
const sample = sampleSource('notify_src', 60);
let recorder: Recorder;
let github: Record<string, string>;

beforeAll(async () => {
  recorder = await startRecorder();
  github = {
    GITHUB_REPOSITORY: 'o/r',
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_API_URL: `${recorder.url}/api`,
  };
});

afterAll(async () => {
  await recorder.close();
});

const channels = () => ({
  'slack-webhook-url': `${recorder.url}/slack/T000/B000/secretslackpath`,
  'webhook-url': `${recorder.url}/hook/secrethookpath`,
  'heartbeat-url': `${recorder.url}/ping/secret-uuid-1234`,
  'github-token': TOKEN,
  'failure-issue': 'true',
});

function failingBackup() {
  const url = new URL(sample.db.url);
  url.pathname = '/no_such_db';
  return runAction(
    { storage: sample.work, name: 'shop', 'database-url': url.href, ...channels() },
    { env: github },
  );
}

function sentSince(start: number) {
  return recorder.requests.slice(start);
}

describe('on failure', () => {
  let start: number;
  let run: Awaited<ReturnType<typeof failingBackup>>;

  beforeAll(async () => {
    start = recorder.requests.length;
    run = await failingBackup();
  });

  it('keeps the mode’s own failure as the result', () => {
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/no_such_db.*does not exist/);
  });

  it('posts a Slack message with the set, mode, reason and a link to the run', () => {
    const slack = sentSince(start).find((r) => r.path.startsWith('/slack/'));
    const message = JSON.parse(slack!.body);
    expect(message.text).toMatch(/backup-action backup of shop FAILED: .*no_such_db/);
    expect(message.text).toContain('https://github.example/o/r/actions/runs/4242');
    expect(message.attachments[0].color).toBe('danger');
  });

  it('posts the documented webhook payload', () => {
    const hook = sentSince(start).find((r) => r.path.startsWith('/hook/'));
    expect(JSON.parse(hook!.body)).toMatchObject({
      version: 1,
      event: 'backup-action.run',
      ok: false,
      mode: 'backup',
      name: 'shop',
      runUrl: 'https://github.example/o/r/actions/runs/4242',
      report: { ok: false, mode: 'backup' },
    });
  });

  it('pings the heartbeat at /start, then /fail', () => {
    const pings = sentSince(start)
      .filter((r) => r.path.startsWith('/ping/'))
      .map((r) => r.path);
    expect(pings).toEqual(['/ping/secret-uuid-1234/start', '/ping/secret-uuid-1234/fail']);
  });

  it('opens one labelled issue for the set, then comments on it on the next failure', async () => {
    expect(recorder.issues).toHaveLength(1);
    expect(recorder.issues[0]).toMatchObject({
      title: 'backup-action: shop is failing',
      state: 'open',
      labels: [{ name: 'backup-failure' }],
    });
    await failingBackup();
    expect(recorder.issues).toHaveLength(1);
    expect(recorder.issues[0]!.comments).toHaveLength(1);
  });

  it('sends no secret anywhere', () => {
    const everything = [
      ...recorder.requests.map((r) => r.path + r.body),
      run.summary,
      ...Object.values(run.outputs),
    ].join('\n');
    for (const secret of [
      new URL(sample.db.url).password,
      TOKEN,
      'secretslackpath',
      'secrethookpath',
      'secret-uuid-1234',
    ]) {
      expect(recorder.requests.map((r) => r.body).join('\n')).not.toContain(secret);
      expect(run.summary + Object.values(run.outputs).join('\n')).not.toContain(secret);
    }
    expect(everything).not.toContain(new URL(sample.db.url).password);
  });
});

describe('on success', () => {
  it('closes the open issue with a comment, pings the heartbeat, and stays quiet on Slack', async () => {
    const start = recorder.requests.length;
    const run = await runAction(
      { storage: sample.work, name: 'shop', 'database-url': sample.db.url, ...channels() },
      { env: github },
    );
    expect(run.code, run.stdout).toBe(0);
    const sent = sentSince(start);
    expect(sent.filter((r) => r.path.startsWith('/slack/'))).toEqual([]);
    expect(sent.filter((r) => r.path.startsWith('/ping/')).map((r) => r.path)).toEqual([
      '/ping/secret-uuid-1234/start',
      '/ping/secret-uuid-1234',
    ]);
    expect(recorder.issues[0]).toMatchObject({ state: 'closed' });
    expect(recorder.issues[0]!.comments.at(-1)).toMatch(/^Recovered: \*\*backup\*\* succeeded/);
  });

  it('a channel that is down is retried, then a warning, never a failure', async () => {
    const start = recorder.requests.length;
    const run = await runAction(
      {
        storage: sample.work,
        name: 'shop',
        'database-url': sample.db.url,
        'notify-on': 'always',
        'slack-webhook-url': `${recorder.url}/broken/slack`,
      },
      { env: github },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(sentSince(start).filter((r) => r.path === '/broken/slack')).toHaveLength(3);
    expect(run.stdout).toMatch(
      /::warning::Slack notification was not delivered after 3 attempts \(HTTP 500\)/,
    );
    expect(run.summary).toContain('Slack notification was not delivered');
  });
});

describe('the notify mode', () => {
  it('reports a failure that happened outside the action, with no storage', async () => {
    const start = recorder.requests.length;
    const run = await runAction(
      {
        mode: 'notify',
        name: 'shop',
        result: 'cancelled',
        message: 'the postgres service never started',
        'webhook-url': `${recorder.url}/hook/x`,
      },
      { env: github },
    );
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toBe('shop: the postgres service never started');
    const hook = sentSince(start).find((r) => r.path === '/hook/x');
    expect(JSON.parse(hook!.body)).toMatchObject({
      ok: false,
      mode: 'notify',
      headline: 'shop: the postgres service never started',
    });
  });
});

describe('a run refused for bad input', () => {
  it('still alerts every channel, naming the refused input and no secret', async () => {
    const start = recorder.requests.length;
    // Not the failure issue: the tests above follow the one issue their runs opened.
    const alerts = { ...channels(), 'github-token': '', 'failure-issue': 'false' };
    const run = await runAction(
      {
        storage: sample.work,
        name: 'shop',
        'database-url': sample.db.url,
        compression: 'lz4',
        ...alerts,
      },
      { env: github },
    );
    expect(run.code).not.toBe(0);
    const refusal = 'Input "compression": "lz4" is not accepted; use zstd, gzip or none';
    expect(lastErrorLine(run)).toBe(refusal);
    const sent = sentSince(start);
    const hook = sent.find((r) => r.path === '/hook/secrethookpath');
    expect(JSON.parse(hook!.body)).toMatchObject({
      ok: false,
      mode: 'backup',
      name: 'shop',
      headline: refusal,
      report: { ok: false, error: refusal },
    });
    const slack = sent.find((r) => r.path.startsWith('/slack/'));
    expect(JSON.parse(slack!.body).text).toContain('backup-action backup of shop FAILED');
    expect(sent.map((r) => `${r.method} ${r.path}`)).toContain('GET /ping/secret-uuid-1234/fail');
    const bodies = sent.map((r) => r.body).join('\n');
    for (const secret of ['secretslackpath', 'secrethookpath', 'secret-uuid-1234']) {
      expect(bodies).not.toContain(secret);
    }
  });

  it('a mistyped notify-on still sends the refusal on the channels that can be read', async () => {
    const start = recorder.requests.length;
    const run = await runAction(
      {
        storage: sample.work,
        name: 'shop',
        'database-url': sample.db.url,
        'notify-on': 'bogus',
        'webhook-url': `${recorder.url}/hook/typo`,
        'slack-webhook-url': 'not a url',
      },
      { env: github },
    );
    const refusal = 'Input "notify-on": "bogus" is not accepted; use failure, always or never';
    expect(lastErrorLine(run)).toBe(refusal);
    const hook = sentSince(start).find((r) => r.path === '/hook/typo');
    expect(JSON.parse(hook!.body)).toMatchObject({ ok: false, name: 'shop', headline: refusal });
  });
});
