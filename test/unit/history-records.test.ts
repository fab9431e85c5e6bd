/**
 * The history's pure parts: the record's key (inside `<name>/`, sorting by time, never a
 * backup's, a leftover's or foreign), how a record read back is judged (torn, forged, dated
 * ahead), the charts' Mermaid text and sparklines, and a status read back from a report file.
 *
 * Covers: src/core/history.ts, src/core/layout.ts, src/core/chart.ts, src/core/trends.ts,
 * src/core/status.ts, src/storage/history.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  mermaidChart,
  PLOT_COLOUR,
  sparkline,
  bytesScale,
  secondsScale,
} from '../../src/core/chart.js';
import {
  judgeRecord,
  oneLine,
  serializeRecord,
  isRecord,
  keyOfRecord,
  type HistoryRecord,
} from '../../src/core/history.js';
import { classifyKey, recordKey } from '../../src/core/layout.js';
import {
  parseSetStatus,
  setProblems,
  statusTable,
  UNUSABLE_SHOWN,
  type SetStatus,
} from '../../src/core/status.js';
import { backupCharts, restoreCharts, sizeTrend } from '../../src/core/trends.js';
import { withRecord } from '../../src/storage/history.js';

const NOW = new Date('2031-03-10T08:00:00.000Z');
const TOLERANCE = 5 * 60_000;
const RUN = '20310310T070000Z-abcdef';

function record(edit: Partial<HistoryRecord> = {}): HistoryRecord {
  return {
    version: 1,
    mode: 'restore-test',
    id: RUN,
    name: 'shop',
    startedAt: '2031-03-10T07:00:00.250Z',
    finishedAt: '2031-03-10T07:00:12.000Z',
    ok: true,
    backupId: '20310310T020000Z-123456',
    figures: { restoreSeconds: 11.75, tables: 3, rows: 1203, checksPassed: 2, checksFailed: 0 },
    tool: { name: 'backup-action', version: '1.0.0' },
    ...edit,
  };
}
const keyOf = (id = RUN) => ({
  key: recordKey('shop', id, 'restore-test'),
  name: 'shop',
  id,
  mode: 'restore-test' as const,
});
const judge = (text: string, key = keyOf()) => judgeRecord(key, text, NOW, TOLERANCE);

describe("a record's key", () => {
  it('is inside the set, in its history folder, named by the run: sorting keys sorts by time', () => {
    expect(keyOfRecord(record())).toBe(`shop/history/${RUN}.restore-test.json`);
    const keys = ['20310310T070000Z-ffffff', '20300101T000000Z-000000', '20310309T235959Z-aaaaaa']
      .map((id) => recordKey('shop', id, 'verify-latest'))
      .sort();
    expect(keys.map((key) => key.slice(13, 29))).toEqual([
      '20300101T000000Z',
      '20310309T235959Z',
      '20310310T070000Z',
    ]);
  });

  it('classifies as a record of its set and mode: never a manifest, an object, or another set', () => {
    expect(classifyKey('shop', `shop/history/${RUN}.restore-test.json`)).toEqual({
      kind: 'record',
      id: RUN,
      mode: 'restore-test',
    });
    expect(classifyKey('shop', `shop/history/${RUN}.verify-latest.json`)).toMatchObject({
      kind: 'record',
      mode: 'verify-latest',
    });
    expect(classifyKey('shop.history', `shop/history/${RUN}.restore-test.json`)).toBeUndefined();
    // Near misses are foreign: left alone, counted as keys outside the layout.
    for (const near of [
      `shop/history/${RUN}.backup.json`,
      `shop/history/${RUN}.restore-test.json.tmp`,
      `shop/history/${RUN}.manifest.json`,
      `shop/history/${RUN}.dump.zst`,
      `shop/history/20311340T070000Z-abcdef.restore-test.json`,
      `shop/history/x/${RUN}.restore-test.json`,
      `shop/history/${RUN.toUpperCase()}.restore-test.json`,
      `shop/History/${RUN}.restore-test.json`,
      `shop/${RUN}.restore-test.json`,
    ])
      expect(classifyKey('shop', near), near).toBeUndefined();
  });
});

describe('a record read back', () => {
  it('counts when it is what a run of this set writes under its own key', () => {
    const judged = judge(serializeRecord(record()));
    expect(isRecord(judged) && judged.record).toEqual(record());
  });

  it('is torn when it is not the JSON a run writes', () => {
    for (const text of [
      '',
      '{"version": 1, "mode": "restore-te',
      '[]',
      JSON.stringify({ ...record(), version: 0 }),
      JSON.stringify({ ...record(), ok: 'yes' }),
      JSON.stringify({ ...record(), ok: false }),
      JSON.stringify({ ...record(), figures: { restoreSeconds: -1 } }),
      JSON.stringify({ ...record(), figures: { rows: 1.5 } }),
      JSON.stringify({ ...record(), problem: 'x'.repeat(501) }),
      JSON.stringify({ ...record(), backupId: '../other' }),
    ]) {
      const judged = judge(text);
      expect(isRecord(judged), text.slice(0, 60)).toBe(false);
      expect(!isRecord(judged) && judged.problem).toMatch(
        new RegExp(`^torn record shop/history/${RUN}\\.restore-test\\.json: `),
      );
    }
  });

  it('is torn when its problem is not one line of text: no line break, escape or bidi control', () => {
    for (const problem of [
      'a\n# b',
      'a\r\nb',
      '\u001b[2Jcleared',
      'a\u2028b',
      'evil\u202etxt.exe',
      'a\u0085b',
    ]) {
      const judged = judge(JSON.stringify({ ...record(), ok: false, problem }));
      expect(!isRecord(judged) && judged.problem, JSON.stringify(problem)).toMatch(
        /^torn record .*: bad problem \(a run writes one line of text\)$/,
      );
    }
    const fine = 'check failed: SELECT count(*) < 5 | `x` <b>';
    expect(isRecord(judge(JSON.stringify({ ...record(), ok: false, problem: fine })))).toBe(true);
  });

  it('writes a problem as one line, which it then counts', () => {
    expect(oneLine('psql: error:\n  FATAL:\t\u001b[31mno\r\n\u2028')).toBe(
      'psql: error: FATAL: [31mno',
    );
    const problem = oneLine('line one\nline two\u202e');
    expect(isRecord(judge(JSON.stringify({ ...record(), ok: false, problem })))).toBe(true);
  });

  it('of a newer version says so, and is not counted', () => {
    const judged = judge(JSON.stringify({ ...record(), version: 2 }));
    expect(!isRecord(judged) && judged.problem).toMatch(
      new RegExp(
        `^record shop/history/${RUN}\\.restore-test\\.json is of version 2, written by a newer backup-action; this one \\(.+\\) reads version 1: it is not counted$`,
      ),
    );
  });

  it("is forged when it says it is another set's, mode's or run's, or its times disagree with its id", () => {
    const cases: [Partial<HistoryRecord>, RegExp][] = [
      [{ name: 'crm' }, /records set "crm"/],
      [{ mode: 'verify-latest' }, /records a verify-latest run/],
      [{ id: '20310310T070000Z-000000' }, /records run 20310310T070000Z-000000/],
      [{ startedAt: '2031-03-10T06:00:00.000Z' }, /startedAt .* disagrees with its id/],
      [{ finishedAt: '2031-03-10T06:59:00.000Z' }, /finishedAt .* is before startedAt/],
    ];
    for (const [edit, problem] of cases) {
      const judged = judge(serializeRecord(record(edit)));
      expect(!isRecord(judged) && judged.problem, JSON.stringify(edit)).toMatch(/^forged record /);
      expect(!isRecord(judged) && judged.problem).toMatch(problem);
    }
  });

  it('is not counted when dated ahead of the clock, by its key or by its finish, beyond the tolerance', () => {
    const ahead = '20310310T080600Z-abcdef';
    const judged = judge(
      serializeRecord(record({ id: ahead, startedAt: '2031-03-10T08:06:00.000Z' })),
      keyOf(ahead),
    );
    expect(!isRecord(judged) && judged.problem).toMatch(/is dated 2031-03-10T08:06:00.000Z, ahead/);
    // Within the tolerance, a clock a little behind another machine's: counted.
    const close = '20310310T080400Z-abcdef';
    const counted = judge(
      serializeRecord(
        record({
          id: close,
          startedAt: '2031-03-10T08:04:00.000Z',
          finishedAt: '2031-03-10T08:04:30.000Z',
        }),
      ),
      keyOf(close),
    );
    expect(isRecord(counted)).toBe(true);
    const late = judge(serializeRecord(record({ finishedAt: '2031-03-11T00:00:00.000Z' })));
    expect(!isRecord(late) && late.problem).toMatch(/finished at 2031-03-11.*ahead/);
  });
});

describe('charts', () => {
  const points = [1, 2, 3].map((day) => ({
    id: `2031030${day}T020000Z-00000${day}`,
    createdAt: `2031-03-0${day}T02:00:00.000Z`,
    sizeBytes: day * 3 * 1024 * 1024,
    durationSeconds: 30 + day,
  }));

  it('draws size as bars and duration as a line in units a person reads, oldest first', () => {
    const [size, duration] = backupCharts(points);
    expect(mermaidChart(size!)).toBe(
      [
        '---',
        'config:',
        '  themeVariables:',
        '    xyChart:',
        `      plotColorPalette: "${PLOT_COLOUR}"`,
        '---',
        'xychart-beta',
        '  title "Backup size, last 3 backups"',
        '  x-axis ["03-01 02:00", "03-02 02:00", "03-03 02:00"]',
        '  y-axis "MiB" 0 --> 9.9',
        '  bar [3, 6, 9]',
      ].join('\n'),
    );
    expect(mermaidChart(duration!)).toContain('  line [31, 32, 33]');
    expect(backupCharts(points.slice(0, 1))).toEqual([]);
  });

  it('marks a failed restore-test ✗ and draws what it measured, zero when nothing', () => {
    const failed = { ok: false, problem: 'check failed', figures: {} };
    const tests = [record(), record({ ...failed, startedAt: '2031-03-11T07:00:00.000Z' })];
    const [time, rows] = restoreCharts(tests);
    expect(time!.labels).toEqual(['03-10 07:00', '03-11 07:00 ✗']);
    // Points of one minute are told apart to the second, then numbered: Mermaid merges equals.
    const close = [0, 5, 5].map((s) => record({ startedAt: `2031-03-10T07:00:0${s}.000Z` }));
    expect(restoreCharts(close)[0]!.labels).toEqual([
      '03-10 07:00:00',
      '03-10 07:00:05 #1',
      '03-10 07:00:05 #2',
    ]);
    expect(time!.values).toEqual([11.75, 0]);
    expect(rows!.values).toEqual([1203, 0]);
  });

  it('keeps quotes and line breaks out of the chart text, and scales units', () => {
    const text = mermaidChart({
      title: 'a "quoted"\ntitle',
      unit: 's',
      labels: ['x"y'],
      values: [0],
      style: 'line',
    });
    expect(text).toContain('title "a  quoted  title"');
    expect(text).toContain('x-axis ["x y"]');
    expect(text).toContain('y-axis "s" 0 --> 1');
    expect(bytesScale([5 * 1024 ** 3])).toEqual({ unit: 'GiB', divisor: 1024 ** 3 });
    expect(secondsScale([601])).toEqual({ unit: 'min', divisor: 60 });
    expect(sparkline([0, 4, 8])).toBe('▁▅█');
    expect(sizeTrend(points)).toBe('9.0 MiB ▃▆█ +50%');
  });
});

describe('a status', () => {
  const status: SetStatus = {
    name: 'shop',
    ok: true,
    problems: [],
    stores: [
      {
        store: 's3://b/p',
        backups: 3,
        newestId: '20310310T020000Z-123456',
        ageSeconds: 3600,
        sizeBytes: 9,
      },
    ],
    lastRestoreTest: { at: '2031-03-10T07:00:12.000Z', ok: true, restoreSeconds: 11.75 },
    sizeTrend: '9 B',
    unusable: [],
    unusableCount: 0,
  };

  it('needs attention for a failed run it follows, no backup, one too old, a failed test', () => {
    const found = { ...status, ok: undefined, problems: undefined };
    expect(setProblems(found, 26 * 3600_000, false)).toEqual([]);
    expect(setProblems(found, 1800_000, true)).toEqual([
      'nightly run: undefined',
      'newest backup is 1h old (max-age 30m)',
    ]);
    const failed = {
      ...found,
      stores: [{ store: 's3://b/p', backups: 0 }],
      lastRestoreTest: { at: '2031-03-10T07:00:12.000Z', ok: false, problem: 'row counts differ' },
    };
    expect(setProblems(failed, 1, false)).toEqual([
      'no complete backup in s3://b/p',
      'last restore-test failed: row counts differ',
    ]);
  });

  it('reads back from a report only when every field is what status writes', () => {
    expect(parseSetStatus(JSON.parse(JSON.stringify(status)))).toEqual(status);
    for (const bad of [
      { ...status, name: '../x' },
      { ...status, ok: false, problems: [] },
      { ...status, stores: [{ store: 's3://b/p', backups: -1 }] },
      { ...status, stores: [{ store: 's3://b/p', backups: 1, newestId: 'latest' }] },
      { ...status, lastRestoreTest: { at: 'yesterday', ok: true } },
      { ...status, problems: [1] },
      'shop',
    ])
      expect(parseSetStatus(bad)).toBeUndefined();
  });

  it('read back from a report lists at most UNUSABLE_SHOWN keys and keeps the count of all', () => {
    const keys = Array.from({ length: 50 }, (_, i) => ({ key: `shop/k${i}`, problem: 'torn' }));
    const earlier = { ...status, unusable: keys } as Partial<SetStatus>;
    delete earlier.unusableCount;
    const read = parseSetStatus(earlier);
    expect(read?.unusable).toEqual(keys.slice(0, UNUSABLE_SHOWN));
    expect(read?.unusableCount).toBe(50);
    const counted = parseSetStatus({ ...status, unusable: keys.slice(0, 2), unusableCount: 900 });
    expect(counted?.unusableCount).toBe(900);
    const lying = parseSetStatus({ ...status, unusable: keys.slice(0, 3), unusableCount: -1 });
    expect(lying?.unusableCount).toBe(3);
  });

  it('is one row of the table, with the retention column only when one was asked', () => {
    const table = statusTable('Every set', [status], NOW);
    expect(table.header).not.toContain('retention next');
    expect(table.rows[0]!.slice(0, 4)).toEqual(['shop', '✅ ok', '20310310T020000Z-123456', '1h']);
    expect(table.rows[0]![5]).toBe('passed 59m 48s ago: 11.8 s');
    const asked = statusTable(
      'Every set',
      [{ ...status, retention: { keep: 2, delete: ['x'] } }],
      NOW,
    );
    expect(asked.rows[0]!.at(-1)).toBe('keep 2, delete 1');
  });
});

describe('this run among the records read back (withRecord)', () => {
  const at = (id: string, startedAt: string) => record({ id, startedAt, finishedAt: startedAt });
  const older = at('20310310T060000Z-aaaaaa', '2031-03-10T06:00:00.000Z');
  const mine = at('20310310T070000Z-bbbbbb', '2031-03-10T07:00:00.000Z');
  // Another run of the set that started later and finished first (or a clock a little ahead).
  const newer = at('20310310T070100Z-cccccc', '2031-03-10T07:01:00.000Z');

  it('takes its place by time, not at the end, and is not counted twice once listed', () => {
    const ids = (records: HistoryRecord[]) => records.map((one) => one.id);
    expect(ids(withRecord([older, newer], mine))).toEqual([older.id, mine.id, newer.id]);
    expect(ids(withRecord([older, mine, newer], mine))).toEqual([older.id, mine.id, newer.id]);
  });

  it('leaves the records as read when the run’s own was not written, and keeps the last `limit`', () => {
    expect(withRecord([older, newer], undefined)).toEqual([older, newer]);
    expect(withRecord([older, newer], mine, 2)).toEqual([mine, newer]);
  });
});
