/**
 * action.yml is the public interface: every input documented with a default, and the code in step with it.
 *
 * Covers: action.yml, src/inputs/names.ts.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FLAG_INPUTS, INPUT_DEFAULTS, INPUT_NAMES } from '../../src/inputs/names.js';

interface ActionYml {
  runs: { using: string; main: string };
  inputs: Record<string, { description?: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description?: string }>;
}

const action = parse(await readFile('action.yml', 'utf8')) as ActionYml;
const DESIGN_INPUTS = [
  'mode',
  'storage',
  'name',
  's3-endpoint',
  's3-region',
  's3-force-path-style',
  'notify-on',
  'slack-webhook-url',
  'webhook-url',
  'heartbeat-url',
  'github-token',
  'failure-issue',
  'source',
  'database-url',
  'pg-dump-args',
  'paths',
  'exclude',
  'exclude-from',
  'compression',
  'compression-level',
  'age-recipients',
  'encryption-passphrase',
  'row-counts',
  's3-storage-class',
  's3-sse',
  's3-sse-kms-key-id',
  'max-age',
  'min-size',
  'max-shrink',
  'deep',
  'age-identity',
  'backup-id',
  'checks',
  'checks-file',
  'jobs',
  'keep-database',
  'confirm',
  'clean',
  'keep-last',
  'keep-hourly',
  'keep-daily',
  'keep-weekly',
  'keep-monthly',
  'keep-yearly',
  'keep-within',
  'timezone',
  'dry-run',
  'orphan-grace',
];
const DESIGN_OUTPUTS = [
  'backup-id',
  'backup-key',
  'manifest-key',
  'size-bytes',
  'sha256',
  'duration-seconds',
  'latest-id',
  'age-seconds',
  'restored-tables',
  'restore-seconds',
  'kept',
  'deleted',
  'report',
];

describe('action.yml', () => {
  it('runs dist/index.js on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  it('declares every input and output of the design', () => {
    expect(Object.keys(action.inputs)).toEqual(expect.arrayContaining(DESIGN_INPUTS));
    expect(Object.keys(action.outputs)).toEqual(expect.arrayContaining(DESIGN_OUTPUTS));
  });

  it('describes every input and gives it a default', () => {
    for (const [name, input] of Object.entries(action.inputs)) {
      expect(input.description, name).toMatch(/^\S.{9,}/);
      expect(typeof input.default === 'string' || input.required === true, name).toBe(true);
    }
    for (const [name, output] of Object.entries(action.outputs))
      expect(output.description, name).toBeTruthy();
  });

  it('lists exactly the inputs the code reads and the command line accepts', () => {
    expect([...INPUT_NAMES].sort()).toEqual(Object.keys(action.inputs).sort());
  });

  it('gives the code its defaults and its true/false inputs (the flags of the command line)', () => {
    const inputs = Object.entries(action.inputs);
    const defaults = inputs.filter(([, input]) => input.default).map(([n, i]) => [n, i.default]);
    expect(INPUT_DEFAULTS).toEqual(Object.fromEntries(defaults));
    const yesNo = inputs.filter(([, input]) => /^(?:true|false)$/.test(input.default ?? ''));
    // s3-force-path-style has no default: unset, it follows s3-endpoint.
    expect([...FLAG_INPUTS].sort()).toEqual(
      [...yesNo.map(([n]) => n), 's3-force-path-style'].sort(),
    );
  });
});
