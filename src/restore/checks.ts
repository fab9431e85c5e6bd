/**
 * The user's checks after a restore. Count checks compare a table's rows with a bound; SQL checks
 * must return exactly one boolean. Each runs in its own read-only transaction with a time limit,
 * through the extended protocol (one statement only), so a check can neither change the restored
 * database, nor end its transaction and escape those limits, nor hang the run.
 */
import type pg from 'pg';
import { errorMessage } from '../core/errors.js';
import { quoteIdent } from '../postgres/server.js';
import type { Check } from '../core/settings.js';

export interface CheckResult {
  text: string;
  passed: boolean;
  /** What was found: the count, the boolean, or why the check could not be evaluated. */
  value: string;
}

export const CHECK_TIMEOUT_SECONDS = 60;

type Operator = Extract<Check, { kind: 'count' }>['operator'];

export function compare(found: number, operator: Operator, bound: number): boolean {
  switch (operator) {
    case '>=':
      return found >= bound;
    case '>':
      return found > bound;
    case '<=':
      return found <= bound;
    case '<':
      return found < bound;
    case '=':
      return found === bound;
  }
}

/** A SQL check's verdict from what its query returned: one row of one boolean, or a clear failure. */
export function sqlVerdict(
  text: string,
  rows: unknown[][],
  columns: { name: string }[],
): CheckResult {
  const fail = (value: string) => ({ text, passed: false, value });
  if (columns.length !== 1) {
    return fail(
      `must return one boolean column; returned ${columns.length} (${columns.map((c) => c.name).join(', ')})`,
    );
  }
  if (rows.length !== 1) return fail(`must return one row; returned ${rows.length}`);
  const value = rows[0]?.[0];
  if (value === null || value === undefined) return fail('returned NULL, not true or false');
  if (typeof value !== 'boolean') {
    return fail(`returned ${JSON.stringify(value).slice(0, 40)}, not a boolean`);
  }
  return { text, passed: value, value: String(value) };
}

export async function runChecks(
  client: pg.Client,
  checks: readonly Check[],
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) results.push(await runCheck(client, check));
  return results;
}

async function runCheck(client: pg.Client, check: Check): Promise<CheckResult> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(`SET LOCAL statement_timeout = '${CHECK_TIMEOUT_SECONDS}s'`);
    return check.kind === 'count' ? await countCheck(client, check) : await sqlCheck(client, check);
  } catch (error) {
    return { text: check.text, passed: false, value: `error: ${errorMessage(error)}` };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

async function countCheck(
  client: pg.Client,
  check: Extract<Check, { kind: 'count' }>,
): Promise<CheckResult> {
  const [schema = '', table = ''] = check.table.split('.');
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${quoteIdent(schema)}.${quoteIdent(table)}`,
  );
  const found = Number(rows[0]?.n ?? 0);
  return {
    text: check.text,
    passed: compare(found, check.operator, check.value),
    value: String(found),
  };
}

async function sqlCheck(
  client: pg.Client,
  check: Extract<Check, { kind: 'sql' }>,
): Promise<CheckResult> {
  // queryMode is the driver's own (pg 8.11+); its type declarations do not list it yet.
  const query = {
    text: check.sql,
    rowMode: 'array',
    queryMode: 'extended',
  } as pg.QueryArrayConfig;
  const result = await client.query<unknown[]>(query);
  return sqlVerdict(check.text, result.rows, result.fields);
}
