/**
 * The user's checks after a restore. Count checks compare a table's rows with a bound; SQL checks
 * must return exactly one boolean, and run read-only with a time limit so a check cannot change
 * or hang the restored database.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { quoteIdent } from '../postgres/server.js';
import type { Check } from '../settings.js';

export interface CheckResult {
  text: string;
  passed: boolean;
  /** What was found: the count, the boolean, or why the check could not be evaluated. */
  value: string;
}

const STATEMENT_TIMEOUT = '60s';

export function compare(found: number, operator: string, bound: number): boolean {
  switch (operator) {
    case '>=':
      return found >= bound;
    case '>':
      return found > bound;
    case '<=':
      return found <= bound;
    case '<':
      return found < bound;
    default:
      return found === bound;
  }
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
    await client.query(`SET LOCAL statement_timeout = '${STATEMENT_TIMEOUT}'`);
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
  const result = await client.query({ text: check.sql, rowMode: 'array' });
  const row = result.rows as unknown[][];
  const value = row[0]?.[0];
  if (row.length !== 1 || result.fields.length !== 1 || typeof value !== 'boolean') {
    return {
      text: check.text,
      passed: false,
      value: `must return one row with one boolean; returned ${row.length} row(s) of ${result.fields.length} column(s)`,
    };
  }
  return { text: check.text, passed: value, value: String(value) };
}
