/**
 * `restore-globals`: the backup's roles (and, for restore, tablespaces) applied on the target
 * server before any database is restored, so that owners and grants restore as in production.
 * The globals object is read whole into memory, within a bound: it is the SQL of roles, never big.
 * Roles are made in one transaction (a role that cannot be made leaves none made); tablespaces,
 * which cannot be made in a transaction, after them, since they have owners.
 */
import type pg from 'pg';
import type { Readable } from 'node:stream';
import { errorMessage } from '../core/errors.js';
import type { GlobalsRecord, ManifestBase } from '../core/manifest.js';
import type { DatabaseTarget, Decryption } from '../core/settings.js';
import type { Logger, RunContext } from '../core/types.js';
import { readObject } from '../pipeline/read.js';
import { mark } from '../postgres/scratch-marks.js';
import { quoteIdent, withConnection } from '../postgres/server.js';
import {
  describeStatement,
  planGlobals,
  type GlobalsPlan,
  type PlanFacts,
  type TablespaceStep,
} from './globals-plan.js';
import { globalStatements, withGrantor, type GlobalStatement } from './globals-sql.js';

export const GLOBALS_LIMIT = 64 * 1024 * 1024;

/**
 * One statement through the extended protocol, which refuses a second one: should this splitter
 * and the server ever read the quoting of a script differently, what the splitter took for one
 * role's statement cannot carry another command with it. (queryMode is the driver's own, pg
 * 8.11+; its type declarations do not list it yet.)
 */
const single = (sql: string) => ({ text: sql, queryMode: 'extended' }) as pg.QueryConfig;

/** The globals script, its every stored byte checked; more than GLOBALS_LIMIT fails. */
export async function readGlobals(
  ctx: RunContext,
  globals: GlobalsRecord,
  layers: ManifestBase,
  keys: Decryption,
): Promise<string> {
  return readObject(
    ctx.store,
    globals.object,
    layers,
    keys,
    (stream) => collect(stream, globals.object.key),
    ctx.signal,
  );
}

async function collect(stream: Readable, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > GLOBALS_LIMIT) {
      throw new Error(
        `${key} holds more than ${GLOBALS_LIMIT / 1024 / 1024} MiB of SQL: not the globals of a backup`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface GlobalsApplied {
  plan: GlobalsPlan;
  /** The roles made, to drop afterwards (restore-test). */
  created: string[];
  /** What could not be applied, one line each (also logged as warnings). */
  failed: string[];
  /** Memberships granted by the restoring role instead of the backup's grantor, and why. */
  grantorsNotKept: string[];
}

/** Applies the script's roles and tablespaces that the target lacks, through `server`. */
export async function applyGlobals(
  server: DatabaseTarget,
  script: string,
  options: Pick<PlanFacts, 'sameName' | 'tablespaceMode' | 'allowPrivileged'> & { mark?: string },
  log: Logger,
): Promise<GlobalsApplied> {
  const statements = globalStatements(script);
  return withConnection(server, async (client) => {
    const facts = await targetFacts(client);
    const plan = planGlobals(statements, { ...facts, ...options });
    const applied: GlobalsApplied = {
      plan,
      created: plan.created,
      failed: [],
      grantorsNotKept: [],
    };
    const warn = (line: string) => {
      applied.failed.push(line);
      log.warning(`restore-globals: ${line}`);
    };
    const roles = new Set([...facts.roles, ...plan.created]);
    await applyRoles(client, plan.roles, {
      warn,
      roles,
      grantorsNotKept: applied.grantorsNotKept,
      beforeCommit: async () => {
        if (options.mark) await mark(client, 'ROLE', plan.created, options.mark);
      },
    });
    for (const step of plan.tablespaces) await createTablespace(client, step, warn);
    return applied;
  });
}

async function targetFacts(
  client: pg.Client,
): Promise<Pick<PlanFacts, 'roles' | 'currentUser' | 'tablespaces'>> {
  const { rows: roles } = await client.query<{ name: string }>(
    'SELECT rolname AS name FROM pg_roles',
  );
  const { rows: spaces } = await client.query<{ name: string }>(
    'SELECT spcname AS name FROM pg_tablespace',
  );
  const { rows: me } = await client.query<{ name: string }>('SELECT current_user AS name');
  return {
    roles: new Set(roles.map((row) => row.name)),
    tablespaces: new Set(spaces.map((row) => row.name)),
    currentUser: me[0]?.name ?? '',
  };
}

interface RoleSteps {
  warn: (line: string) => void;
  /** The roles on the server once the plan's are made: a grantor must be one of them. */
  roles: ReadonlySet<string>;
  grantorsNotKept: string[];
  /** Runs inside the transaction, so a role is never committed without its scratch mark. */
  beforeCommit: () => Promise<void>;
}

/** One transaction; each statement behind a savepoint, so one refused is only reported. */
async function applyRoles(
  client: pg.Client,
  statements: GlobalStatement[],
  steps: RoleSteps,
): Promise<void> {
  if (statements.length === 0) return;
  await client.query('BEGIN');
  try {
    for (const statement of statements) {
      if (statement.kind === 'membership' && statement.grantor !== undefined) {
        await grantWithGrantor(client, statement, statement.grantor, steps);
        continue;
      }
      await client.query('SAVEPOINT globals');
      try {
        await client.query(single(statement.sql));
        await client.query('RELEASE SAVEPOINT globals');
      } catch (error) {
        if (statement.kind === 'role' && statement.create) {
          throw new Error(
            `restore-globals: cannot create the role ${JSON.stringify(statement.role)}: ${errorMessage(error)}; no role was created`,
          );
        }
        await client.query('ROLLBACK TO SAVEPOINT globals');
        steps.warn(`${describeStatement(statement)} was not applied: ${errorMessage(error)}`);
      }
    }
    await steps.beforeCommit();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * A membership as granted by the backup's grantor where the server lets the restoring role say so
 * (a superuser may; on 16+ the grantor must hold ADMIN on the role): otherwise by the restoring
 * role, and the line says why.
 */
async function grantWithGrantor(
  client: pg.Client,
  statement: Extract<GlobalStatement, { kind: 'membership' }>,
  grantor: string,
  steps: RoleSteps,
): Promise<void> {
  const what = `${describeStatement(statement)}: granted by the restoring role, not ${JSON.stringify(grantor)}`;
  let why = `the role ${JSON.stringify(grantor)} is not on this server`;
  if (steps.roles.has(grantor)) {
    await client.query('SAVEPOINT grantor');
    try {
      await client.query(single(withGrantor(statement.sql, grantor)));
      await client.query('RELEASE SAVEPOINT grantor');
      return;
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT grantor');
      why = errorMessage(error);
    }
  }
  await client.query('SAVEPOINT globals');
  try {
    await client.query(single(statement.sql));
    await client.query('RELEASE SAVEPOINT globals');
    steps.grantorsNotKept.push(`${what}: ${why}`);
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT globals');
    steps.warn(`${describeStatement(statement)} was not applied: ${errorMessage(error)}`);
  }
}

async function createTablespace(
  client: pg.Client,
  { tablespace, location, statements }: TablespaceStep,
  warn: (line: string) => void,
): Promise<void> {
  const [create, ...rest] = statements;
  if (!create) return;
  try {
    await client.query(single(create.sql));
  } catch (error) {
    throw new Error(
      `restore-globals: cannot create the tablespace ${JSON.stringify(tablespace)} at ${JSON.stringify(location ?? '')}: ${errorMessage(error)}; create the folder (empty, owned by the server's user) or the tablespace by hand, and run again`,
    );
  }
  for (const statement of rest) {
    await client.query(single(statement.sql)).catch((error: unknown) => {
      warn(`${describeStatement(statement)} was not applied: ${errorMessage(error)}`);
    });
  }
}

/** The `ALTER ROLE … IN DATABASE` settings of `database`, once it is restored. */
export async function applyInDatabase(
  server: DatabaseTarget,
  database: string,
  applied: GlobalsApplied,
  log: Logger,
): Promise<void> {
  const statements = applied.plan.inDatabase.filter((item) => item.database === database);
  if (statements.length === 0) return;
  await withConnection(server, async (client) => {
    for (const { statement } of statements) {
      await client.query(single(statement.sql)).catch((error: unknown) => {
        const line = `${describeStatement(statement)} was not applied: ${errorMessage(error)}`;
        applied.failed.push(line);
        log.warning(`restore-globals: ${line}`);
      });
    }
  });
}

/**
 * Drops the roles restore-globals made, after the databases that used them: what they still hold
 * on the server (privileges on parameters) goes first. Returns the roles it could not drop.
 */
export async function dropRoles(
  server: DatabaseTarget,
  roles: string[],
  log: Logger,
): Promise<string[]> {
  if (roles.length === 0) return [];
  return withConnection(server, async (client) => {
    const list = roles.map(quoteIdent).join(', ');
    await client.query(`DROP OWNED BY ${list}`).catch(() => undefined);
    const left: string[] = [];
    for (const role of [...roles].reverse()) {
      try {
        await client.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
      } catch (error) {
        left.push(role);
        log.warning(
          `could not drop the role ${JSON.stringify(role)} that restore-globals made: ${errorMessage(error)}`,
        );
      }
    }
    return left;
  });
}
