/**
 * metrics-file and pushgateway-url as read before any work, and the gateway's address as the
 * push uses it: credentials out of the URL into a header, the set's name in base64 in the path.
 *
 * Covers: src/inputs/metrics.ts, src/notify/pushgateway.ts.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricsSecrets, readMetrics } from '../../src/inputs/metrics.js';
import { Inputs } from '../../src/inputs/reader.js';
import { gatewayTarget, groupPath } from '../../src/notify/pushgateway.js';

const read = (values: Record<string, string>, cwd = '/work') =>
  readMetrics(new Inputs((name) => values[name] ?? ''), cwd);

describe('metrics-file', () => {
  it('is a .prom path, resolved against the working directory', () => {
    expect(read({})).toEqual({ file: undefined, pushgatewayUrl: undefined });
    expect(read({ 'metrics-file': 'metrics/db.prom' }).file).toBe(
      path.resolve('/work', 'metrics/db.prom'),
    );
    expect(read({ 'metrics-file': ' /var/lib/textfile/a.prom ' }).file).toBe(
      '/var/lib/textfile/a.prom',
    );
  });

  it.each([
    [
      '/var/lib/textfile/a.txt',
      /"\/var\/lib\/textfile\/a\.txt" is not accepted; use a file path ending in \.prom/,
    ],
    ['/var/lib/textfile/a.prom/', /is not accepted; use a file path ending in \.prom/],
    ['file:///var/lib/a.prom', /"file:\/\/\/var\/lib\/a\.prom" is not accepted/],
    ['/tmp/a\0.prom', /holds a NUL character/],
  ])('refuses %j in one line naming the input', (value, message) => {
    expect(() => read({ 'metrics-file': value })).toThrow(/^Input "metrics-file": /);
    expect(() => read({ 'metrics-file': value })).toThrow(message);
  });
});

describe('pushgateway-url', () => {
  it('takes a base URL, with credentials and a path prefix', () => {
    const url = 'https://user:p%40ss@push.example.com/pushgateway/';
    expect(read({ 'pushgateway-url': url }).pushgatewayUrl).toBe(url);
  });

  it.each([
    ['ftp://push.example.com', /is not accepted; use an http:\/\/ or https:\/\/ URL$/],
    ['push.example.com:9091', /is not accepted; use an http:\/\/ or https:\/\/ URL$/],
    ['http://push.example.com/?x=1', /has a query or fragment/],
    ['http://push.example.com/#x', /has a query or fragment/],
    ['http://push.example.com/metrics/job/x', /names a push path/],
    ['http://push.example.com/metrics', /names a push path/],
    ['http://user:%E0%A4%A@push.example.com', /malformed %-escape in its credentials/],
  ])('refuses %j in one line, never echoing it', (value, message) => {
    const attempt = () => read({ 'pushgateway-url': value });
    expect(attempt).toThrow(/^Input "pushgateway-url": /);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain(value);
    }
  });

  it('is a secret, and so is the password in it, decoded', () => {
    expect(metricsSecrets({ pushgatewayUrl: 'https://u:p%40ss@h' })).toEqual([
      'https://u:p%40ss@h',
      'p@ss',
    ]);
    expect(metricsSecrets({ pushgatewayUrl: 'http://h:9091' })).toEqual(['http://h:9091']);
    expect(metricsSecrets({ file: '/a.prom' })).toEqual([]);
  });
});

describe('the gateway’s address', () => {
  it('moves credentials into a Basic authorization header, the URL left without them', () => {
    expect(gatewayTarget('https://user:p%40ss@push.example.com/prefix/')).toEqual({
      url: 'https://push.example.com/prefix',
      headers: { authorization: `Basic ${Buffer.from('user:p@ss').toString('base64')}` },
    });
    expect(gatewayTarget('http://127.0.0.1:9091')).toEqual({
      url: 'http://127.0.0.1:9091',
      headers: {},
    });
  });

  it('names the group by job, set (base64, URL-safe) and mode', () => {
    expect(groupPath('db.prod-1', 'verify-latest')).toBe(
      `/metrics/job/backup-action/set@base64/${Buffer.from('db.prod-1').toString('base64url')}/mode/verify-latest`,
    );
    expect(groupPath('...', 'backup')).toBe(
      '/metrics/job/backup-action/set@base64/Li4u/mode/backup',
    );
  });
});
