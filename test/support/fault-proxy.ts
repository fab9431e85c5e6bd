/**
 * A fault-injecting HTTP proxy of our own between the product and s3rver: it can fail the next N
 * requests with a status, reset the connection after N bytes of a request, close it after N bytes
 * of a response's body, or stall (never answer). It records every request, so a test can say the store received none. Given an IAM
 * policy it enforces it, answering what the policy does not allow with S3's AccessDenied.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  accessDeniedXml,
  authorizationsFor,
  isAllowed,
  type Authorization,
  type PolicyDocument,
} from './iam.js';

/** A fault applies to the requests whose `METHOD path` matches `match` (all, when unset). */
export type Fault = { match?: RegExp } & (
  | { kind: 'status'; status: number; count: number; code?: string }
  | { kind: 'reset'; afterBytes: number; count: number }
  | { kind: 'cut'; afterBytes: number; count: number }
  | { kind: 'stall' }
  | { kind: 'down'; status: number }
);

export interface FaultProxy {
  endpoint: string;
  /** Method and path of every request received, faulted or not. */
  requests: string[];
  /** The Content-Length each of those requests declared (0 when none). */
  lengths: number[];
  /** The storage class each of those requests asked for (x-amz-storage-class), if any. */
  storageClasses: (string | undefined)[];
  faults: Fault[];
  /** How many requests were faulted. */
  injected: number;
  /** The IAM policy every request must pass (none: all pass). */
  policy?: PolicyDocument;
  /** What the policy refused, as `action resource`. */
  denied: string[];
  /** Answers a multi-object delete in place of the store (an Object Lock that keeps some keys). */
  onDelete?: (keys: string[]) => Promise<string>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const proxy: FaultProxy = {
    endpoint: '',
    requests: [],
    lengths: [],
    storageClasses: [],
    faults: [],
    injected: 0,
    denied: [],
    close: async () => undefined,
  };
  const stalled = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    // A multi-object delete names its keys in the body: read it before deciding.
    if ((proxy.policy || proxy.onDelete) && isMultiDelete(req)) {
      void readBody(req).then(
        (body) => handle(req, res, body),
        () => res.destroy(),
      );
      return;
    }
    handle(req, res);
  });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer) => {
    const request = `${req.method} ${req.url}`;
    proxy.requests.push(request);
    proxy.lengths.push(Number(req.headers['content-length'] ?? 0));
    proxy.storageClasses.push(req.headers['x-amz-storage-class'] as string | undefined);
    const fault = takeFault(proxy, request);
    if (fault?.kind === 'stall') {
      stalled.add(res);
      req.resume();
      return;
    }
    if (fault?.kind === 'status' || fault?.kind === 'down') {
      const code = (fault.kind === 'status' && fault.code) || 'ServiceUnavailable';
      // Answered only once the body is read whole: an answer while the client is still sending
      // can reach it as a reset connection, which the SDK retries, and the fault never shows.
      const answer = () => {
        res.writeHead(fault.status, { 'content-type': 'application/xml' });
        res.end(
          `<?xml version="1.0"?><Error><Code>${code}</Code><Message>injected</Message></Error>`,
        );
      };
      if (req.readableEnded) answer();
      else req.once('end', answer).resume();
      return;
    }
    const keys = body ? deletedKeys(body) : [];
    const refusal = proxy.policy && refused(proxy.policy, req, keys);
    if (refusal) {
      proxy.denied.push(`${refusal.action} ${refusal.resource}`);
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(accessDeniedXml(refusal));
      return;
    }
    if (body && proxy.onDelete) {
      void proxy.onDelete(keys).then(
        (xml) => {
          res.writeHead(200, { 'content-type': 'application/xml' });
          res.end(xml);
        },
        () => res.destroy(),
      );
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (fault?.kind === 'cut') cutAfter(answer, res, fault.afterBytes);
        else answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    if (body) {
      forward.end(body);
      return;
    }
    if (fault?.kind === 'reset') {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= fault.afterBytes) {
          forward.destroy();
          req.socket.destroy();
        }
      });
    }
    req.pipe(forward);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

function takeFault(proxy: FaultProxy, request: string): Fault | undefined {
  const index = proxy.faults.findIndex((fault) => !fault.match || fault.match.test(request));
  const fault = proxy.faults[index];
  if (!fault) return undefined;
  proxy.injected += 1;
  if (fault.kind === 'status' || fault.kind === 'reset' || fault.kind === 'cut') {
    fault.count -= 1;
    if (fault.count <= 0) proxy.faults.splice(index, 1);
  }
  return fault;
}

/** Passes the first `afterBytes` of the body, then closes the connection, as a store that fails. */
function cutAfter(answer: http.IncomingMessage, res: http.ServerResponse, afterBytes: number) {
  let sent = 0;
  answer.on('data', (chunk: Buffer) => {
    if (sent >= afterBytes) return;
    const part = chunk.subarray(0, afterBytes - sent);
    sent += part.length;
    if (sent < afterBytes) {
      res.write(part);
      return;
    }
    answer.destroy();
    // Once those bytes have left: the client has them all, then the connection closes.
    res.write(part, () => res.socket?.destroy());
  });
}

function isMultiDelete(req: http.IncomingMessage): boolean {
  return req.method === 'POST' && new URL(req.url ?? '/', 'http://s3').searchParams.has('delete');
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The keys a DeleteObjects body names, unescaped from XML, with the bucket's prefix kept. */
function deletedKeys(body: Buffer): string[] {
  return [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map(([, key = '']) =>
    key
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&quot;', '"')
      .replaceAll('&apos;', "'")
      .replaceAll('&amp;', '&'),
  );
}

/** The first authorization the policy refuses, if any; a request with no mapping is refused. */
function refused(
  policy: PolicyDocument,
  req: http.IncomingMessage,
  keys: readonly string[],
): Authorization | undefined {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  try {
    return authorizationsFor(method, url, keys).find((each) => !isAllowed(policy, each));
  } catch {
    return { action: 'unmapped', resource: `${method} ${url}`, context: {} };
  }
}
