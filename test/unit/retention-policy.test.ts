/**
 * The retention policy as pure logic: which backups each keep rule keeps, across time zones
 * and daylight saving time.
 *
 * Covers: src/retention/policy.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  decide,
  isValidTimeZone,
  periodKey,
  policyHasRule,
  type Candidate,
  type Decision,
  type KeepRule,
} from '../../src/retention/policy.js';
import type { KeepPolicy } from '../../src/core/settings.js';

/*
 * Ids here are the UTC instant itself (plus a suffix for ties), so they sort by time like the
 * real `YYYYMMDDTHHMMSSZ-xxxxxx` ids and every expectation can be checked by eye. Expected ids
 * are written out by hand, never derived from the code under test.
 */
function at(iso: string, suffix = ''): Candidate {
  return { id: iso + suffix, createdAt: new Date(iso) };
}

function backups(...isos: string[]): Candidate[] {
  return isos.map((iso) => at(iso));
}

/** A fixed scramble, so every test also shows that the input order does not matter. */
function scrambled<T>(items: readonly T[]): T[] {
  const odd = items.filter((_, index) => index % 2 === 1);
  const even = items.filter((_, index) => index % 2 === 0);
  return [...odd.reverse(), ...even];
}

function keptIds(decisions: readonly Decision[]): string[] {
  return decisions.filter((decision) => decision.keep).map((decision) => decision.id);
}

function rulesById(decisions: readonly Decision[]): Record<string, KeepRule[]> {
  return Object.fromEntries(decisions.map((decision) => [decision.id, decision.rules]));
}

function keep(candidates: readonly Candidate[], policy: KeepPolicy, timeZone = 'UTC'): string[] {
  return keptIds(decide(scrambled(candidates), policy, timeZone));
}

const HOUR_MS = 3_600_000;

describe('policyHasRule', () => {
  it('is false when no rule has a positive value', () => {
    expect(policyHasRule({})).toBe(false);
    expect(
      policyHasRule({
        last: 0,
        hourly: 0,
        daily: 0,
        weekly: 0,
        monthly: 0,
        yearly: 0,
        withinMs: 0,
      }),
    ).toBe(false);
    expect(policyHasRule({ daily: -1 })).toBe(false);
    expect(policyHasRule({ last: Number.NaN })).toBe(false);
  });

  it('is true as soon as one rule is positive', () => {
    expect(policyHasRule({ last: 1 })).toBe(true);
    expect(policyHasRule({ hourly: 0, yearly: 3 })).toBe(true);
    expect(policyHasRule({ withinMs: 1 })).toBe(true);
  });
});

describe('decide: safety rails', () => {
  it('throws on a policy that names no rule, even with no backups', () => {
    expect(() => decide([], {}, 'UTC')).toThrow(/no rule/);
    expect(() => decide(backups('2024-01-01T00:00:00Z'), { last: 0, withinMs: 0 }, 'UTC')).toThrow(
      /no rule/,
    );
  });

  it('throws on counts that are not whole numbers >= 0', () => {
    const one = backups('2024-01-01T00:00:00Z');
    expect(() => decide(one, { last: 2.5 }, 'UTC')).toThrow(/keep-last/);
    expect(() => decide(one, { daily: -1, last: 1 }, 'UTC')).toThrow(/keep-daily/);
    expect(() => decide(one, { withinMs: Number.NaN, last: 1 }, 'UTC')).toThrow(/keep-within/);
  });

  it('throws on a backup whose createdAt is not a date', () => {
    const broken = [...backups('2024-01-01T00:00:00Z'), { id: 'x', createdAt: new Date('nope') }];
    expect(() => decide(broken, { last: 5 }, 'UTC')).toThrow(/backup x/);
  });

  it('throws on an unknown time zone, even when no rule needs one', () => {
    expect(() => decide(backups('2024-01-01T00:00:00Z'), { last: 1 }, 'Mars/Olympus')).toThrow(
      /unknown time zone "Mars\/Olympus"/,
    );
  });

  it('returns nothing for no backups', () => {
    expect(decide([], { last: 3, daily: 7 }, 'UTC')).toEqual([]);
  });

  it('marks the newest as kept by rule "newest" on top of the rules that kept it', () => {
    const set = backups('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z');
    const policies: KeepPolicy[] = [
      { last: 1 },
      { daily: 1 },
      { withinMs: 1 },
      { yearly: 1, hourly: 0 },
    ];
    expect(policies.map((policy) => decide(set, policy, 'UTC')[0])).toEqual([
      {
        id: '2024-01-03T00:00:00Z',
        createdAt: set[2]?.createdAt,
        keep: true,
        rules: ['last', 'newest'],
      },
      {
        id: '2024-01-03T00:00:00Z',
        createdAt: set[2]?.createdAt,
        keep: true,
        rules: ['daily', 'newest'],
      },
      {
        id: '2024-01-03T00:00:00Z',
        createdAt: set[2]?.createdAt,
        keep: true,
        rules: ['within', 'newest'],
      },
      {
        id: '2024-01-03T00:00:00Z',
        createdAt: set[2]?.createdAt,
        keep: true,
        rules: ['yearly', 'newest'],
      },
    ]);
  });

  it('keeps a lone backup', () => {
    const decisions = decide(backups('2024-01-01T00:00:00Z'), { weekly: 4 }, 'UTC');
    expect(rulesById(decisions)).toEqual({ '2024-01-01T00:00:00Z': ['weekly', 'newest'] });
  });
});

describe('decide: keep-last', () => {
  const set = backups(
    '2024-05-01T10:00:00Z',
    '2024-05-02T10:00:00Z',
    '2024-05-03T10:00:00Z',
    '2024-05-04T10:00:00Z',
    '2024-05-05T10:00:00Z',
  );

  it('keeps the N newest and lists every decision newest first', () => {
    const decisions = decide(scrambled(set), { last: 3 }, 'UTC');
    expect(decisions.map((decision) => [decision.id, decision.keep, decision.rules])).toEqual([
      ['2024-05-05T10:00:00Z', true, ['last', 'newest']],
      ['2024-05-04T10:00:00Z', true, ['last']],
      ['2024-05-03T10:00:00Z', true, ['last']],
      ['2024-05-02T10:00:00Z', false, []],
      ['2024-05-01T10:00:00Z', false, []],
    ]);
  });

  it('keeps everything when N exceeds the count', () => {
    expect(keep(set, { last: 10 })).toEqual([
      '2024-05-05T10:00:00Z',
      '2024-05-04T10:00:00Z',
      '2024-05-03T10:00:00Z',
      '2024-05-02T10:00:00Z',
      '2024-05-01T10:00:00Z',
    ]);
  });

  it('passes createdAt through untouched', () => {
    const decisions = decide(set, { last: 1 }, 'UTC');
    expect(decisions[0]?.createdAt).toBe(set[4]?.createdAt);
  });
});

describe('decide: keep-daily', () => {
  // Three backups a day for a week, 2024-05-01 (Wed) to 2024-05-07 (Tue).
  const week = [1, 2, 3, 4, 5, 6, 7].flatMap((day) =>
    ['02:00', '12:00', '22:00'].map((time) => at(`2024-05-0${day}T${time}:00Z`)),
  );

  it('keeps the newest backup of each day', () => {
    expect(keep(week, { daily: 7 })).toEqual([
      '2024-05-07T22:00:00Z',
      '2024-05-06T22:00:00Z',
      '2024-05-05T22:00:00Z',
      '2024-05-04T22:00:00Z',
      '2024-05-03T22:00:00Z',
      '2024-05-02T22:00:00Z',
      '2024-05-01T22:00:00Z',
    ]);
  });

  it('keeps only the N most recent days', () => {
    expect(keep(week, { daily: 3 })).toEqual([
      '2024-05-07T22:00:00Z',
      '2024-05-06T22:00:00Z',
      '2024-05-05T22:00:00Z',
    ]);
  });

  it('does not spend the count on days that have no backup', () => {
    const gappy = backups(
      '2024-05-10T08:00:00Z',
      '2024-05-10T04:00:00Z',
      '2024-05-08T09:00:00Z',
      '2024-05-04T12:00:00Z',
      '2024-05-03T12:00:00Z',
      '2024-04-20T12:00:00Z',
    );
    expect(keep(gappy, { daily: 3 })).toEqual([
      '2024-05-10T08:00:00Z',
      '2024-05-08T09:00:00Z',
      '2024-05-04T12:00:00Z',
    ]);
  });

  it('keeps by the newest backup even when months have passed since', () => {
    const stale = backups('2020-01-02T00:00:00Z', '2020-01-01T00:00:00Z', '2019-12-31T00:00:00Z');
    expect(keep(stale, { daily: 2 })).toEqual(['2020-01-02T00:00:00Z', '2020-01-01T00:00:00Z']);
  });
});

describe('decide: keep-weekly across an ISO week-53 year boundary', () => {
  const set = backups(
    '2020-12-20T12:00:00Z', // Sun, 2020-W51
    '2020-12-21T12:00:00Z', // Mon, 2020-W52
    '2020-12-27T12:00:00Z', // Sun, 2020-W52
    '2020-12-28T12:00:00Z', // Mon, 2020-W53
    '2020-12-31T12:00:00Z', // Thu, 2020-W53
    '2021-01-01T12:00:00Z', // Fri, 2020-W53
    '2021-01-03T12:00:00Z', // Sun, 2020-W53
    '2021-01-04T12:00:00Z', // Mon, 2021-W01
    '2021-01-10T12:00:00Z', // Sun, 2021-W01
    '2021-01-11T12:00:00Z', // Mon, 2021-W02
  );

  it('keeps the newest of each ISO week, week 53 spanning New Year', () => {
    expect(keep(set, { weekly: 4 })).toEqual([
      '2021-01-11T12:00:00Z',
      '2021-01-10T12:00:00Z',
      '2021-01-03T12:00:00Z',
      '2020-12-27T12:00:00Z',
    ]);
  });

  it('counts weeks that have a backup, not calendar weeks', () => {
    const gappy = backups(
      '2021-03-01T00:00:00Z', // Mon, 2021-W09
      '2021-01-31T00:00:00Z', // Sun, 2021-W04
      '2021-01-25T00:00:00Z', // Mon, 2021-W04
      '2020-12-31T00:00:00Z', // Thu, 2020-W53
      '2020-11-30T00:00:00Z', // Mon, 2020-W49
    );
    expect(keep(gappy, { weekly: 3 })).toEqual([
      '2021-03-01T00:00:00Z',
      '2021-01-31T00:00:00Z',
      '2020-12-31T00:00:00Z',
    ]);
  });

  it('uses the local date: Sunday 23:30 UTC is already Monday in Tokyo', () => {
    const edge = backups('2021-01-04T01:00:00Z', '2021-01-03T23:30:00Z', '2021-01-03T10:00:00Z');
    // UTC: W01 holds only the newest; W53 keeps 01-03T23:30.
    expect(keep(edge, { weekly: 2 }, 'UTC')).toEqual([
      '2021-01-04T01:00:00Z',
      '2021-01-03T23:30:00Z',
    ]);
    // Tokyo: 01-04 10:00 and 01-04 08:30 are both W01; 01-03 19:00 is W53.
    expect(keep(edge, { weekly: 2 }, 'Asia/Tokyo')).toEqual([
      '2021-01-04T01:00:00Z',
      '2021-01-03T10:00:00Z',
    ]);
  });
});

describe('decide: keep-monthly and keep-yearly', () => {
  const set = backups(
    '2022-03-15T12:00:00Z',
    '2022-11-02T12:00:00Z',
    '2022-11-20T12:00:00Z',
    '2023-01-31T23:00:00Z',
    '2023-02-01T01:00:00Z',
    '2023-07-04T12:00:00Z',
    '2024-02-29T12:00:00Z',
    '2024-12-31T23:59:00Z',
    '2025-01-01T00:00:00Z',
  );

  it('keeps the newest of each month that has a backup', () => {
    expect(keep(set, { monthly: 4 })).toEqual([
      '2025-01-01T00:00:00Z',
      '2024-12-31T23:59:00Z',
      '2024-02-29T12:00:00Z',
      '2023-07-04T12:00:00Z',
    ]);
    expect(keep(set, { monthly: 7 })).toEqual([
      '2025-01-01T00:00:00Z',
      '2024-12-31T23:59:00Z',
      '2024-02-29T12:00:00Z',
      '2023-07-04T12:00:00Z',
      '2023-02-01T01:00:00Z',
      '2023-01-31T23:00:00Z',
      '2022-11-20T12:00:00Z',
    ]);
  });

  it('keeps the newest of each year, fewer years than asked for', () => {
    expect(keep(set, { yearly: 10 })).toEqual([
      '2025-01-01T00:00:00Z',
      '2024-12-31T23:59:00Z',
      '2023-07-04T12:00:00Z',
      '2022-11-20T12:00:00Z',
    ]);
  });

  it('moves month and year boundaries with the time zone', () => {
    // New York (UTC-5 in winter): 2025-01-01T00:00Z is 2024-12-31 19:00, so 2024 ends there.
    expect(keep(set, { yearly: 2 }, 'America/New_York')).toEqual([
      '2025-01-01T00:00:00Z',
      '2023-07-04T12:00:00Z',
    ]);
    // Tokyo (UTC+9): 2023-01-31T23:00Z is already 2023-02-01, sharing February with 02-01T01:00Z.
    expect(keep(set, { monthly: 6 }, 'Asia/Tokyo')).toEqual([
      '2025-01-01T00:00:00Z',
      '2024-02-29T12:00:00Z',
      '2023-07-04T12:00:00Z',
      '2023-02-01T01:00:00Z',
      '2022-11-20T12:00:00Z',
      '2022-03-15T12:00:00Z',
    ]);
  });
});

/*
 * Sets whose days and hours the time zone draws: the local clock is in each comment. Each is
 * decided in the table below.
 */
const DAY_EDGE = backups(
  '2024-06-10T14:00:00Z', // Tokyo 06-10 23:00, New York 06-10 10:00
  '2024-06-10T23:30:00Z', // Tokyo 06-11 08:30, New York 06-10 19:30
  '2024-06-11T03:00:00Z', // Tokyo 06-11 12:00, New York 06-10 23:00
);
/** New York's spring-forward, 2024-03-10: 02:00 EST becomes 03:00 EDT. */
const NY_SPRING_HOURS = backups(
  '2024-03-10T05:30:00Z', // 00:30 EST
  '2024-03-10T06:10:00Z', // 01:10 EST
  '2024-03-10T06:50:00Z', // 01:50 EST
  '2024-03-10T07:10:00Z', // 03:10 EDT
  '2024-03-10T07:50:00Z', // 03:50 EDT
  '2024-03-10T08:20:00Z', // 04:20 EDT
);
/** New York's fall-back, 2024-11-03: the 01:00 hour comes twice. */
const NY_FALL_HOURS = backups(
  '2024-11-03T04:30:00Z', // 00:30 EDT
  '2024-11-03T05:15:00Z', // 01:15 EDT
  '2024-11-03T05:45:00Z', // 01:45 EDT
  '2024-11-03T06:15:00Z', // 01:15 EST
  '2024-11-03T06:45:00Z', // 01:45 EST
  '2024-11-03T07:15:00Z', // 02:15 EST
);
/** Around New York's 23-hour day. */
const NY_SPRING_DAYS = backups(
  '2024-03-10T04:59:00Z', // 03-09 23:59 EST
  '2024-03-10T05:00:00Z', // 03-10 00:00 EST
  '2024-03-11T03:59:00Z', // 03-10 23:59 EDT
  '2024-03-11T04:00:00Z', // 03-11 00:00 EDT
);
/** Around New York's 25-hour day. */
const NY_FALL_DAYS = backups(
  '2024-11-03T03:59:00Z', // 11-02 23:59 EDT
  '2024-11-03T04:00:00Z', // 11-03 00:00 EDT
  '2024-11-04T04:30:00Z', // 11-03 23:30 EST
  '2024-11-04T05:00:00Z', // 11-04 00:00 EST
);
/** Berlin's spring-forward, 2024-03-31: 02:00 CET becomes 03:00 CEST. */
const BERLIN_SPRING_HOURS = backups(
  '2024-03-31T00:30:00Z', // 01:30 CET
  '2024-03-31T00:59:00Z', // 01:59 CET
  '2024-03-31T01:00:00Z', // 03:00 CEST
  '2024-03-31T01:30:00Z', // 03:30 CEST
);
/** Berlin's fall-back, 2024-10-27: the 02:00 hour comes twice. */
const BERLIN_FALL_HOURS = backups(
  '2024-10-27T00:15:00Z', // 02:15 CEST
  '2024-10-27T00:45:00Z', // 02:45 CEST
  '2024-10-27T01:15:00Z', // 02:15 CET
  '2024-10-27T01:45:00Z', // 02:45 CET
);
/** Around Berlin's 23-hour day. */
const BERLIN_SPRING_DAYS = backups(
  '2024-03-30T22:59:00Z', // 03-30 23:59 CET
  '2024-03-30T23:00:00Z', // 03-31 00:00 CET
  '2024-03-31T21:59:00Z', // 03-31 23:59 CEST
  '2024-03-31T22:00:00Z', // 04-01 00:00 CEST
);
/** Around Berlin's 25-hour day. */
const BERLIN_FALL_DAYS = backups(
  '2024-10-26T21:59:00Z', // 10-26 23:59 CEST
  '2024-10-26T22:00:00Z', // 10-27 00:00 CEST
  '2024-10-27T22:59:00Z', // 10-27 23:59 CET
  '2024-10-27T23:00:00Z', // 10-28 00:00 CET
);

describe('decide: days and hours in the time zone, daylight saving time included', () => {
  it.each<[string, Candidate[], KeepPolicy, string, string[]]>([
    [
      '23:30 UTC is the same day in UTC',
      DAY_EDGE,
      { daily: 5 },
      'UTC',
      ['2024-06-11T03:00:00Z', '2024-06-10T23:30:00Z'],
    ],
    [
      '23:30 UTC is the next day in Tokyo',
      DAY_EDGE,
      { daily: 5 },
      'Asia/Tokyo',
      ['2024-06-11T03:00:00Z', '2024-06-10T14:00:00Z'],
    ],
    [
      'all three fall on one day in New York',
      DAY_EDGE,
      { daily: 5 },
      'America/New_York',
      ['2024-06-11T03:00:00Z'],
    ],
    [
      'New York hourly 3 across spring-forward',
      NY_SPRING_HOURS,
      { hourly: 3 },
      'America/New_York',
      ['2024-03-10T08:20:00Z', '2024-03-10T07:50:00Z', '2024-03-10T06:50:00Z'],
    ],
    [
      'New York hourly 10 across spring-forward: four hours had a backup',
      NY_SPRING_HOURS,
      { hourly: 10 },
      'America/New_York',
      [
        '2024-03-10T08:20:00Z',
        '2024-03-10T07:50:00Z',
        '2024-03-10T06:50:00Z',
        '2024-03-10T05:30:00Z',
      ],
    ],
    [
      'New York hourly 3 across fall-back keeps the repeated 01:00 hour apart',
      NY_FALL_HOURS,
      { hourly: 3 },
      'America/New_York',
      ['2024-11-03T07:15:00Z', '2024-11-03T06:45:00Z', '2024-11-03T05:45:00Z'],
    ],
    [
      'New York hourly 4 across fall-back',
      NY_FALL_HOURS,
      { hourly: 4 },
      'America/New_York',
      [
        '2024-11-03T07:15:00Z',
        '2024-11-03T06:45:00Z',
        '2024-11-03T05:45:00Z',
        '2024-11-03T04:30:00Z',
      ],
    ],
    [
      'New York daily: the 23-hour spring-forward day is one day',
      NY_SPRING_DAYS,
      { daily: 10 },
      'America/New_York',
      ['2024-03-11T04:00:00Z', '2024-03-11T03:59:00Z', '2024-03-10T04:59:00Z'],
    ],
    [
      'the same backups daily in UTC',
      NY_SPRING_DAYS,
      { daily: 10 },
      'UTC',
      ['2024-03-11T04:00:00Z', '2024-03-10T05:00:00Z'],
    ],
    [
      'New York daily: the 25-hour fall-back day is one day',
      NY_FALL_DAYS,
      { daily: 10 },
      'America/New_York',
      ['2024-11-04T05:00:00Z', '2024-11-04T04:30:00Z', '2024-11-03T03:59:00Z'],
    ],
    [
      'Berlin hourly 2 across spring-forward',
      BERLIN_SPRING_HOURS,
      { hourly: 2 },
      'Europe/Berlin',
      ['2024-03-31T01:30:00Z', '2024-03-31T00:59:00Z'],
    ],
    [
      'Berlin hourly 2 across fall-back keeps the repeated 02:00 hour apart',
      BERLIN_FALL_HOURS,
      { hourly: 2 },
      'Europe/Berlin',
      ['2024-10-27T01:45:00Z', '2024-10-27T00:45:00Z'],
    ],
    [
      'Berlin hourly 1 across fall-back',
      BERLIN_FALL_HOURS,
      { hourly: 1 },
      'Europe/Berlin',
      ['2024-10-27T01:45:00Z'],
    ],
    [
      'Berlin daily: the 23-hour spring-forward day is one day',
      BERLIN_SPRING_DAYS,
      { daily: 10 },
      'Europe/Berlin',
      ['2024-03-31T22:00:00Z', '2024-03-31T21:59:00Z', '2024-03-30T22:59:00Z'],
    ],
    [
      'Berlin daily: the 25-hour fall-back day is one day',
      BERLIN_FALL_DAYS,
      { daily: 10 },
      'Europe/Berlin',
      ['2024-10-27T23:00:00Z', '2024-10-27T22:59:00Z', '2024-10-26T21:59:00Z'],
    ],
  ])('%s', (_what, set, policy, timeZone, kept) => {
    expect(keep(set, policy, timeZone)).toEqual(kept);
  });
});

describe('decide: ties on createdAt', () => {
  const a = at('2024-05-01T12:00:00Z', '-a');
  const b = at('2024-05-01T12:00:00Z', '-b');
  const older = at('2024-05-01T06:00:00Z');

  it('orders ties by id descending, whatever the input order', () => {
    const ids = (input: Candidate[]): string[] =>
      decide(input, { last: 3 }, 'UTC').map((decision) => decision.id);
    const expected = ['2024-05-01T12:00:00Z-b', '2024-05-01T12:00:00Z-a', '2024-05-01T06:00:00Z'];
    expect(ids([a, b, older])).toEqual(expected);
    expect(ids([older, b, a])).toEqual(expected);
    expect(ids([b, older, a])).toEqual(expected);
  });

  it('keeps the higher id as the newest of the day and of the last', () => {
    expect(rulesById(decide([a, older, b], { daily: 1, last: 1 }, 'UTC'))).toEqual({
      '2024-05-01T12:00:00Z-b': ['last', 'daily', 'newest'],
      '2024-05-01T12:00:00Z-a': [],
      '2024-05-01T06:00:00Z': [],
    });
  });

  it('keeps both twins with keep-last 2 or keep-within', () => {
    expect(keep([a, b, older], { last: 2 })).toEqual([
      '2024-05-01T12:00:00Z-b',
      '2024-05-01T12:00:00Z-a',
    ]);
    expect(keep([a, b, older], { withinMs: 1 })).toEqual([
      '2024-05-01T12:00:00Z-b',
      '2024-05-01T12:00:00Z-a',
    ]);
  });
});

describe('decide: keep-within', () => {
  const set = backups(
    '2024-01-01T00:00:00Z',
    '2024-01-09T12:00:00Z', // exactly 24h before the newest
    '2024-01-09T12:00:01Z',
    '2024-01-10T00:00:00Z',
    '2024-01-10T12:00:00Z', // newest
  );

  it('keeps what is strictly newer than the newest minus the span', () => {
    expect(keep(set, { withinMs: 24 * HOUR_MS })).toEqual([
      '2024-01-10T12:00:00Z',
      '2024-01-10T00:00:00Z',
      '2024-01-09T12:00:01Z',
    ]);
    expect(keep(set, { withinMs: 24 * HOUR_MS + 1 })).toEqual([
      '2024-01-10T12:00:00Z',
      '2024-01-10T00:00:00Z',
      '2024-01-09T12:00:01Z',
      '2024-01-09T12:00:00Z',
    ]);
  });

  it('measures from the newest backup, not from any clock', () => {
    const old = backups('2015-06-01T00:00:00Z', '2015-06-02T00:00:00Z', '2015-06-03T00:00:00Z');
    expect(keep(old, { withinMs: 36 * HOUR_MS })).toEqual([
      '2015-06-03T00:00:00Z',
      '2015-06-02T00:00:00Z',
    ]);
  });

  it('ignores the time zone', () => {
    expect(keep(set, { withinMs: 13 * HOUR_MS }, 'Pacific/Kiritimati')).toEqual([
      '2024-01-10T12:00:00Z',
      '2024-01-10T00:00:00Z',
    ]);
  });
});

describe('decide: rules are unioned', () => {
  const set = backups(
    '2024-04-01T09:00:00Z', // Mon, 2024-W14
    '2024-04-07T21:00:00Z', // Sun, 2024-W14
    '2024-04-08T09:00:00Z', // Mon, 2024-W15
    '2024-04-09T09:00:00Z', // Tue, 2024-W15
    '2024-04-10T09:00:00Z', // Wed, 2024-W15
    '2024-04-10T15:00:00Z',
    '2024-04-10T21:00:00Z', // newest
  );

  it('lists every rule that kept each backup', () => {
    const decisions = decide(
      scrambled(set),
      { last: 2, daily: 3, weekly: 2, monthly: 1, withinMs: 12 * HOUR_MS },
      'UTC',
    );
    expect(decisions.map((decision) => [decision.id, decision.rules])).toEqual([
      ['2024-04-10T21:00:00Z', ['last', 'daily', 'weekly', 'monthly', 'within', 'newest']],
      ['2024-04-10T15:00:00Z', ['last', 'within']],
      ['2024-04-10T09:00:00Z', []],
      ['2024-04-09T09:00:00Z', ['daily']],
      ['2024-04-08T09:00:00Z', ['daily']],
      ['2024-04-07T21:00:00Z', ['weekly']],
      ['2024-04-01T09:00:00Z', []],
    ]);
    expect(decisions.map((decision) => decision.keep)).toEqual([
      true,
      true,
      false,
      true,
      true,
      true,
      false,
    ]);
  });

  it('ignores rules set to 0', () => {
    expect(keep(set, { last: 0, daily: 2, weekly: 0 })).toEqual([
      '2024-04-10T21:00:00Z',
      '2024-04-09T09:00:00Z',
    ]);
  });
});

describe('decide: 20,000 backups', () => {
  // One an hour from 2024-01-01T00:30Z; the last is 19,999 h = 833 d 7 h later: 2026-04-13T07:30Z.
  const start = Date.UTC(2024, 0, 1, 0, 30);
  const many = Array.from({ length: 20_000 }, (_, index) => {
    const createdAt = new Date(start + index * HOUR_MS);
    return { id: createdAt.toISOString(), createdAt };
  });

  it('keep-daily 7 keeps exactly the newest of each of the last 7 days', () => {
    const decisions = decide(many.toReversed(), { daily: 7 }, 'UTC');
    expect(decisions).toHaveLength(20_000);
    expect(keptIds(decisions)).toEqual([
      '2026-04-13T07:30:00.000Z',
      '2026-04-12T23:30:00.000Z',
      '2026-04-11T23:30:00.000Z',
      '2026-04-10T23:30:00.000Z',
      '2026-04-09T23:30:00.000Z',
      '2026-04-08T23:30:00.000Z',
      '2026-04-07T23:30:00.000Z',
    ]);
    expect(decisions.filter((decision) => !decision.keep)).toHaveLength(19_993);
  });

  it('a policy that walks every backup still completes with the right counts', () => {
    // 2024-01 .. 2026-04 is 28 months and 3 years; keep-hourly 24 is the newest 24.
    const decisions = decide(
      scrambled(many),
      { hourly: 24, monthly: 100, yearly: 100 },
      'Europe/Berlin',
    );
    expect(decisions.filter((decision) => decision.rules.includes('hourly'))).toHaveLength(24);
    expect(decisions.filter((decision) => decision.rules.includes('monthly'))).toHaveLength(28);
    expect(decisions.filter((decision) => decision.rules.includes('yearly'))).toHaveLength(3);
    expect(decisions.at(-1)?.id).toBe('2024-01-01T00:30:00.000Z');
  });
});

describe('periodKey', () => {
  const key = (iso: string, rule: Parameters<typeof periodKey>[1], timeZone = 'UTC'): string =>
    periodKey(new Date(iso), rule, timeZone);

  it('formats each rule', () => {
    expect(key('2024-07-09T13:45:00Z', 'hourly')).toBe('2024-07-09T13+00:00');
    expect(key('2024-07-09T13:45:00Z', 'daily')).toBe('2024-07-09');
    expect(key('2024-07-09T13:45:00Z', 'weekly')).toBe('2024-W28');
    expect(key('2024-07-09T13:45:00Z', 'monthly')).toBe('2024-07');
    expect(key('2024-07-09T13:45:00Z', 'yearly')).toBe('2024');
  });

  it('writes midnight as hour 00, never 24', () => {
    expect(key('2024-01-01T00:00:00Z', 'hourly')).toBe('2024-01-01T00+00:00');
    expect(key('2024-06-10T04:00:00Z', 'hourly', 'America/New_York')).toBe('2024-06-10T00-04:00');
    expect(key('2024-06-10T15:00:00Z', 'hourly', 'Asia/Tokyo')).toBe('2024-06-11T00+09:00');
  });

  it('numbers weeks by the ISO week-numbering year', () => {
    expect(key('2020-12-28T12:00:00Z', 'weekly')).toBe('2020-W53');
    expect(key('2020-12-31T12:00:00Z', 'weekly')).toBe('2020-W53');
    expect(key('2021-01-01T12:00:00Z', 'weekly')).toBe('2020-W53');
    expect(key('2021-01-03T23:59:59Z', 'weekly')).toBe('2020-W53');
    expect(key('2021-01-04T00:00:00Z', 'weekly')).toBe('2021-W01');
    expect(key('2026-12-28T12:00:00Z', 'weekly')).toBe('2026-W53');
    expect(key('2027-01-01T12:00:00Z', 'weekly')).toBe('2026-W53');
    expect(key('2027-01-03T12:00:00Z', 'weekly')).toBe('2026-W53');
    expect(key('2027-01-04T12:00:00Z', 'weekly')).toBe('2027-W01');
    expect(key('2024-12-30T12:00:00Z', 'weekly')).toBe('2025-W01');
    expect(key('2022-01-02T12:00:00Z', 'weekly')).toBe('2021-W52');
    expect(key('2024-01-01T00:00:00Z', 'weekly')).toBe('2024-W01');
  });

  it('puts 23:30 UTC on the next day in Tokyo and the same day in New York', () => {
    expect(key('2024-06-10T23:30:00Z', 'daily', 'Asia/Tokyo')).toBe('2024-06-11');
    expect(key('2024-06-10T23:30:00Z', 'daily', 'America/New_York')).toBe('2024-06-10');
    expect(key('2024-06-10T23:30:00Z', 'daily', 'UTC')).toBe('2024-06-10');
  });

  it('keeps non-whole-hour offsets in the hourly key', () => {
    expect(key('2024-06-10T23:30:00Z', 'hourly', 'Asia/Kolkata')).toBe('2024-06-11T05+05:30');
    expect(key('2024-06-10T23:30:00Z', 'hourly', 'Asia/Kathmandu')).toBe('2024-06-11T05+05:45');
  });

  it('tells apart the hour that fall-back repeats', () => {
    expect(key('2024-11-03T05:30:00Z', 'hourly', 'America/New_York')).toBe('2024-11-03T01-04:00');
    expect(key('2024-11-03T06:30:00Z', 'hourly', 'America/New_York')).toBe('2024-11-03T01-05:00');
    expect(key('2024-10-27T00:30:00Z', 'hourly', 'Europe/Berlin')).toBe('2024-10-27T02+02:00');
    expect(key('2024-10-27T01:30:00Z', 'hourly', 'Europe/Berlin')).toBe('2024-10-27T02+01:00');
  });

  it('throws on an unknown time zone or an invalid date', () => {
    expect(() => key('2024-01-01T00:00:00Z', 'daily', 'Not/AZone')).toThrow(/unknown time zone/);
    expect(() => periodKey(new Date(Number.NaN), 'daily', 'UTC')).toThrow(/not a valid date/);
  });
});

describe('isValidTimeZone', () => {
  it('accepts IANA names and UTC', () => {
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('Asia/Kathmandu')).toBe(true);
  });

  it('refuses what Intl does not know', () => {
    expect(isValidTimeZone('')).toBe(false);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('Europe/Berlinn')).toBe(false);
    expect(isValidTimeZone('GMT+25')).toBe(false);
  });
});
