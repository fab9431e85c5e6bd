/**
 * What a restore-test makes on the scratch server (scratch databases, the backup's roles) carries
 * a comment naming a lock that its run holds for as long as it lives: a session-level advisory
 * lock, which the server releases when that session ends, and a run killed outright (SIGKILL, the
 * OOM killer) ends its sessions with it. The next run drops what is marked with a lock nobody holds;
 * a mark whose lock is held belongs to a run still going, and anything unmarked is never touched.
 */
import type pg from 'pg';
import { randomInt } from 'node:crypto';
import type { DatabaseTarget } from '../core/settings.js';
import { connect, quoteIdent } from './server.js';

/** The advisory lock's first key, shared by every run; the second is the run's own. */
const LOCK_CLASS = 0x62616b75;
const MARK = /^backup-action restore-test scratch, lock (\d{1,10})(?:\n|$)/;

export const markOf = (lock: number): string => `backup-action restore-test scratch, lock ${lock}`;

/** The lock of a marked comment, or undefined when it is not one of this tool's marks. */
export function markedLock(comment: string | null | undefined): number | undefined {
  const match = MARK.exec(comment ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The comment without its mark: what a role kept by keep-database goes back to. */
export function withoutMark(comment: string): string | null {
  const rest = comment.replace(MARK, '');
  return rest === '' ? null : rest;
}

export class ScratchLease {
  private constructor(
    private readonly client: pg.Client,
    /** The comment that marks what this run makes. */
    readonly mark: string,
  ) {}

  /** A lock no other run holds, taken on its own session, which stays open until `release`. */
  static async take(server: DatabaseTarget, signal: AbortSignal): Promise<ScratchLease> {
    const client = await connect(server, signal);
    try {
      // A server that ends idle sessions would release the lock while the run still goes on.
      await client.query('SET idle_session_timeout = 0').catch(() => undefined);
      for (;;) {
        const lock = randomInt(1, 2 ** 31);
        const { rows } = await client.query<{ taken: boolean }>(
          'SELECT pg_try_advisory_lock($1, $2) AS taken',
          [LOCK_CLASS, lock],
        );
        if (rows[0]?.taken) return new ScratchLease(client, markOf(lock));
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  async release(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

export interface Leftovers {
  databases: string[];
  roles: string[];
}

/** Marked databases and roles whose run's lock nobody holds: that run has ended. */
export async function findLeftovers(client: pg.Client): Promise<Leftovers> {
  const { rows } = await client.query<{ kind: 'database' | 'role'; name: string; mark: string }>(
    `SELECT 'database' AS kind, datname AS name, shobj_description(oid, 'pg_database') AS mark
       FROM pg_database
     UNION ALL
     SELECT 'role', rolname, shobj_description(oid, 'pg_authid') FROM pg_roles`,
  );
  const { rows: held } = await client.query<{ lock: string }>(
    `SELECT objid::text AS lock FROM pg_locks
      WHERE locktype = 'advisory' AND classid = $1::oid AND objsubid = 2`,
    [LOCK_CLASS],
  );
  const live = new Set(held.map((row) => Number(row.lock)));
  const found: Leftovers = { databases: [], roles: [] };
  for (const row of rows) {
    const lock = markedLock(row.mark);
    if (lock === undefined || live.has(lock)) continue;
    (row.kind === 'database' ? found.databases : found.roles).push(row.name);
  }
  return found;
}

type Marked = 'DATABASE' | 'ROLE';

const COMMENT_SQL: Record<Marked, string> = {
  DATABASE:
    "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
  ROLE: "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1",
};

/**
 * Puts the mark before the comment it has (a role's or database's own comment, restored from the
 * backup, stays after it). Roles are marked in the transaction that made them: they never exist
 * unmarked.
 */
export async function mark(
  client: pg.Client,
  kind: Marked,
  names: readonly string[],
  text: string,
): Promise<void> {
  for (const name of names) {
    const old = await commentOf(client, kind, name);
    const rest = old && markedLock(old) !== undefined ? withoutMark(old) : old;
    await setComment(client, kind, name, rest ? `${text}\n${rest}` : text);
  }
}

/** Takes the marks off what keep-database keeps: it is the user's from now on. */
export async function unmark(
  client: pg.Client,
  kind: Marked,
  names: readonly string[],
): Promise<void> {
  for (const name of names) {
    const old = await commentOf(client, kind, name);
    if (old && markedLock(old) !== undefined)
      await setComment(client, kind, name, withoutMark(old));
  }
}

async function commentOf(client: pg.Client, kind: Marked, name: string): Promise<string | null> {
  const { rows } = await client.query<{ comment: string | null }>(COMMENT_SQL[kind], [name]);
  return rows[0]?.comment ?? null;
}

async function setComment(
  client: pg.Client,
  kind: Marked,
  name: string,
  text: string | null,
): Promise<void> {
  const value = text === null ? 'NULL' : client.escapeLiteral(text);
  await client.query(`COMMENT ON ${kind} ${quoteIdent(name)} IS ${value}`);
}
