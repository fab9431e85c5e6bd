/**
 * examples/prometheus/: the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`), every alert the docs promise has a test that sees it fire, and the
 * Grafana dashboard is valid JSON whose every query parses as PromQL and names only metrics the
 * tool writes. docs/monitoring.md lists every metric.
 *
 * Covers: examples/prometheus, docs/monitoring.md, src/notify/metrics.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MODES } from '../../src/core/settings.js';
import { METRICS } from '../../src/notify/metrics.js';
import { NO_PROMTOOL, promtool } from '../support/prometheus.js';
import { requireInCI } from '../support/require-in-ci.js';

const DIR = 'examples/prometheus';

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

interface RuleTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

interface Panel {
  title: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
}

const rules = parse(await readFile(`${DIR}/alerts.yml`, 'utf8')) as RuleFile;
const ruleTests = parse(await readFile(`${DIR}/alerts.test.yml`, 'utf8')) as RuleTests;
const dashboard = JSON.parse(await readFile(`${DIR}/grafana-dashboard.json`, 'utf8')) as {
  panels: Panel[];
  templating: { list: { name: string; query: { query: string } }[] };
  __inputs: { name: string }[];
};

const alerts = rules.groups.flatMap((group) => group.rules);

/** The metric names a PromQL expression uses. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bbackup_action_[a-z0-9_]+/g)].map((match) => match[0]);
}

/** Metrics some mode writes today. */
const written = Object.entries(METRICS)
  .filter(([, metric]) => metric.modes.some((mode) => (MODES as readonly string[]).includes(mode)))
  .map(([name]) => name);

describe('the alert rules', () => {
  it('hold the alerts the docs describe', () => {
    expect(alerts.map((rule) => rule.alert)).toEqual([
      'BackupTooOld',
      'BackupFailed',
      'RestoreTestFailing',
      'VerifyFailing',
      'BackupRunFailed',
      'BackupShrank',
      'BackupCopyLagging',
      'BackupNoRunReported',
      'BackupMetricsAbsent',
    ]);
  });

  it('use only metric names of the catalog, the copy lag among them', () => {
    const used = alerts.flatMap((rule) => metricNames(rule.expr));
    expect(used.length).toBeGreaterThan(alerts.length - 1);
    for (const name of used) expect(Object.keys(METRICS)).toContain(name);
    expect(used).toContain('backup_action_copy_lag_seconds');
  });

  it('each have a unit test that sees it fire, and one that sees it quiet', () => {
    const cases = ruleTests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const rule of alerts) {
      const mine = cases.filter((one) => one.alertname === rule.alert);
      expect(
        mine.some((one) => one.exp_alerts.length > 0),
        `${rule.alert} fires`,
      ).toBe(true);
      expect(
        mine.some((one) => one.exp_alerts.length === 0),
        `${rule.alert} quiet`,
      ).toBe(true);
    }
  });

  it.skipIf(requireInCI(NO_PROMTOOL))('pass promtool check rules', async () => {
    const run = await promtool(['check', 'rules', `${DIR}/alerts.yml`]);
    expect(run.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(run.code).toBe(0);
  });

  it.skipIf(requireInCI(NO_PROMTOOL))('pass their unit tests: promtool test rules', async () => {
    const run = await promtool(['test', 'rules', `${DIR}/alerts.test.yml`]);
    expect(run.output).toContain('SUCCESS');
    expect(run.code, run.output).toBe(0);
  });
});

describe('the Grafana dashboard', () => {
  const queries = dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr ?? '' })),
  );

  it('has panels, each with at least one query, all on the one data source input', () => {
    expect(dashboard.panels.length).toBeGreaterThan(8);
    expect(dashboard.__inputs.map((input) => input.name)).toEqual(['DS_PROMETHEUS']);
    for (const panel of dashboard.panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      for (const target of panel.targets ?? []) {
        expect(target.expr, panel.title).toMatch(/\S/);
        expect(target.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      }
    }
  });

  it('refers only to metrics the tool writes today', () => {
    const used = [
      ...queries.flatMap((query) => metricNames(query.expr)),
      ...metricNames(dashboard.templating.list.map((variable) => variable.query.query).join(' ')),
    ];
    for (const name of used) expect(written, name).toContain(name);
    expect(new Set(used).size).toBeGreaterThan(10);
  });

  it.skipIf(requireInCI(NO_PROMTOOL))('has queries that parse as PromQL (promtool)', async () => {
    // Each query as a recording rule, its dashboard variable given a value, for promtool to parse.
    const records = queries.map((query, index) => ({
      record: `dashboard:query_${index}`,
      expr: query.expr.replace(/\$set\b/g, '.*'),
    }));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dashboard-'));
    try {
      const file = path.join(dir, 'queries.yml');
      await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: records }] }));
      const run = await promtool(['check', 'rules', file]);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain(`SUCCESS: ${records.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/monitoring.md', () => {
  it('lists every metric, and the example files', async () => {
    const page = await readFile('docs/monitoring.md', 'utf8');
    for (const name of Object.keys(METRICS)) expect(page, name).toContain(`\`${name}\``);
    for (const file of ['alerts.yml', 'alerts.test.yml', 'grafana-dashboard.json'])
      expect(page).toContain(`examples/prometheus/${file}`);
  });

  it("names for each metric the modes that write it (status's in the paragraph below)", async () => {
    const page = await readFile('docs/monitoring.md', 'utf8');
    for (const [name, metric] of Object.entries(METRICS)) {
      const row = new RegExp(`^\\| \`${name}\` \\| ([^|]+) \\|`, 'm').exec(page);
      const modes = metric.modes.filter((mode) => mode !== 'status');
      const said = modes.length === MODES.length - 1 ? 'every mode' : modes.join(', ');
      expect(row?.[1], name).toBe(said);
    }
  });
});
