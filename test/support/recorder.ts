/**
 * A real HTTP server on 127.0.0.1 that records what it receives: Slack, webhook and heartbeat
 * endpoints, a path that always answers 500, and the small part of GitHub's issues API that
 * failure issues use.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertNoSecretInBody } from './secrets.js';

export interface Recorded {
  method: string;
  path: string;
  body: string;
}

interface Issue {
  number: number;
  title: string;
  state: 'open' | 'closed';
  labels: { name: string }[];
  comments: string[];
  body: string;
}

export interface Recorder {
  url: string;
  requests: Recorded[];
  issues: Issue[];
  close(): Promise<void>;
}

export async function startRecorder(): Promise<Recorder> {
  const requests: Recorded[] = [];
  const issues: Issue[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      requests.push({ method: req.method ?? '', path, body });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (path.startsWith('/broken')) return json(500, { error: 'down' });
      if (!path.startsWith('/api/')) return json(200, { ok: true });
      // A simulated job's GITHUB_TOKEN without issues: write (test/support/caller-repo.ts).
      if (req.method !== 'GET' && req.headers.authorization?.includes('ghs_simulated_read'))
        return json(403, { message: 'Resource not accessible by integration' });
      github(req.method ?? '', path.slice('/api'.length), body, issues, json);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    issues,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // The suite-wide secret guard: no notification body ever carried a secret.
      for (const request of requests) assertNoSecretInBody(request.body);
    },
  };
}

function github(
  method: string,
  path: string,
  body: string,
  issues: Issue[],
  json: (status: number, value: unknown) => void,
): void {
  const data = body ? (JSON.parse(body) as Record<string, unknown>) : {};
  const one = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)(\/comments)?$/.exec(path);
  if (method === 'GET' && path.startsWith('/repos/o/r/issues?')) {
    const label = new URLSearchParams(path.split('?')[1]).get('labels');
    return json(
      200,
      issues.filter((i) => i.state === 'open' && i.labels.some((l) => l.name === label)),
    );
  }
  if (method === 'POST' && path === '/repos/o/r/issues') {
    const issue: Issue = {
      number: issues.length + 1,
      title: String(data.title),
      body: String(data.body),
      state: 'open',
      labels: ((data.labels as string[]) ?? []).map((name) => ({ name })),
      comments: [],
    };
    issues.push(issue);
    return json(201, issue);
  }
  const issue = one ? issues.find((i) => i.number === Number(one[1])) : undefined;
  if (!issue) return json(404, { message: 'Not Found' });
  if (method === 'POST' && one?.[2]) {
    issue.comments.push(String(data.body));
    return json(201, { id: issue.comments.length });
  }
  if (method === 'PATCH') {
    issue.state = data.state === 'closed' ? 'closed' : 'open';
    return json(200, issue);
  }
  json(404, { message: 'Not Found' });
}
