/**
 * Which of the globals a restore applies to the target, and why the rest is not. Pure. Roles the
 * target has are left as they are (their attributes, passwords, comments, settings and
 * memberships), the role running the restore above all; only the roles made here are shaped.
 * What reaches beyond the restored databases (SUPERUSER, REPLICATION, BYPASSRLS; membership in a
 * role the server had, predefined pg_* roles among them) is withheld unless allowed.
 * Lines for reports name roles and kinds of statement, never a statement's text (a password hash).
 */
import { quotedName } from '../core/database-names.js';
import { PRIVILEGED_ATTRIBUTES, roleSql, type GlobalStatement } from './globals-sql.js';

export interface PlanFacts {
  /** The roles the target has now. */
  roles: ReadonlySet<string>;
  /** The role running the restore. */
  currentUser: string;
  tablespaces: ReadonlySet<string>;
  /** Databases restored under their own name: only there do `ALTER ROLE … IN DATABASE` apply. */
  sameName: ReadonlySet<string>;
  /**
   * `skip`: restore-test, which restores with --no-tablespaces (a scratch server has no room for
   * the source's folders); `create`: restore, which makes a missing one where the source had it.
   */
  tablespaceMode: 'skip' | 'create';
  /** allow-privileged-roles: create privileged roles and memberships in roles made elsewhere. */
  allowPrivileged: boolean;
}

export interface TablespaceStep {
  tablespace: string;
  location: string | undefined;
  /** CREATE TABLESPACE, then its ALTER, COMMENT and GRANT statements. */
  statements: GlobalStatement[];
}

export interface GlobalsPlan {
  /** Role statements, memberships and role privileges, in the script's order. */
  roles: GlobalStatement[];
  /** The roles the plan creates, in order. */
  created: string[];
  /** The backup's roles the target already has: left as they are. */
  existing: string[];
  tablespaces: TablespaceStep[];
  /** `ALTER ROLE … IN DATABASE` settings, applied once their database is restored. */
  inDatabase: { database: string; statement: GlobalStatement }[];
  /** What is not applied, one line each. */
  skipped: string[];
  /** What allow-privileged-roles let through, one line each. */
  allowed: string[];
}

export function planGlobals(statements: GlobalStatement[], facts: PlanFacts): GlobalsPlan {
  const plan: GlobalsPlan = {
    roles: [],
    created: [],
    existing: [],
    tablespaces: [],
    inDatabase: [],
    skipped: [],
    allowed: [],
  };
  const keep = (role: string) => facts.roles.has(role) || role === facts.currentUser;
  const made = new Set(
    statements.flatMap((s) => (s.kind === 'role' && s.create && !keep(s.role) ? [s.role] : [])),
  );
  const ours = (roles: string[]) => roles.every((role) => made.has(role));
  for (const statement of statements) {
    switch (statement.kind) {
      case 'role':
        if (!keep(statement.role)) {
          plan.roles.push(withoutPrivileges(plan, statement, facts.allowPrivileged));
          if (statement.create) plan.created.push(statement.role);
        } else if (statement.create) plan.existing.push(statement.role);
        break;
      case 'role-in-database':
        planInDatabase(plan, statement, made.has(statement.role), facts);
        break;
      case 'membership':
        planMembership(plan, statement, made, facts.allowPrivileged);
        break;
      case 'role-privilege':
        if (ours(statement.roles)) plan.roles.push(statement);
        else {
          plan.skipped.push(
            `a privilege on a configuration parameter of ${names(statement.roles)}, which existed before`,
          );
        }
        break;
      case 'tablespace':
        planTablespace(plan, statement, facts);
        break;
      case 'session':
        break;
      case 'other':
        plan.skipped.push(`a statement not read (${statement.reason})`);
    }
  }
  return plan;
}

/** A new role's statement without SUPERUSER, REPLICATION and BYPASSRLS, unless allowed. */
function withoutPrivileges(
  plan: GlobalsPlan,
  statement: Extract<GlobalStatement, { kind: 'role' }>,
  allow: boolean,
): GlobalStatement {
  const { role, create, options } = statement;
  const privileged = options.filter((option) => PRIVILEGED_ATTRIBUTES.has(option));
  if (privileged.length === 0) return statement;
  const line = `${names([role])} with ${privileged.join(', ')}`;
  if (allow) {
    plan.allowed.push(line);
    return statement;
  }
  plan.skipped.push(`${line}: created without them (allow-privileged-roles: true keeps them)`);
  const kept = options.filter((option) => !PRIVILEGED_ATTRIBUTES.has(option));
  return { ...statement, options: kept, sql: roleSql(role, create, kept) };
}

/**
 * A membership of roles made here, in roles made here; in a role the server had (a predefined
 * pg_* role, its superuser) only when allowed: it would hand the restored roles its privileges.
 */
function planMembership(
  plan: GlobalsPlan,
  statement: Extract<GlobalStatement, { kind: 'membership' }>,
  made: ReadonlySet<string>,
  allow: boolean,
): void {
  const { members, granted } = statement;
  const what = `membership of ${names(members)} in ${names(granted)}`;
  if (!members.every((role) => made.has(role))) {
    plan.skipped.push(`${what}: the member existed before and is left as it is`);
    return;
  }
  const outside = granted.filter((role) => !made.has(role));
  if (outside.length === 0) plan.roles.push(statement);
  else if (allow) {
    plan.allowed.push(what);
    plan.roles.push(statement);
  } else {
    plan.skipped.push(
      `${what}: ${names(outside)} is not a role this restore made (allow-privileged-roles: true grants it)`,
    );
  }
}

function planInDatabase(
  plan: GlobalsPlan,
  statement: Extract<GlobalStatement, { kind: 'role-in-database' }>,
  made: boolean,
  facts: PlanFacts,
): void {
  const { role, database } = statement;
  if (!made) {
    plan.skipped.push(
      `a setting of ${names([role])} in ${names([database])}: the role existed before`,
    );
  } else if (!facts.sameName.has(database)) {
    plan.skipped.push(
      `a setting of ${names([role])} in ${names([database])}: that database is not restored under its own name`,
    );
  } else plan.inDatabase.push({ database, statement });
}

function planTablespace(
  plan: GlobalsPlan,
  statement: Extract<GlobalStatement, { kind: 'tablespace' }>,
  facts: PlanFacts,
): void {
  const { tablespace, location } = statement;
  const step = plan.tablespaces.find((item) => item.tablespace === tablespace);
  if (step) {
    step.statements.push(statement);
    return;
  }
  const creates = /^\s*CREATE\b/i.test(statement.sql);
  if (facts.tablespaceMode === 'skip') {
    if (creates)
      plan.skipped.push(`tablespace ${names([tablespace])}: restored without tablespaces`);
  } else if (facts.tablespaces.has(tablespace)) {
    if (creates) plan.skipped.push(`tablespace ${names([tablespace])}: exists, left as it is`);
  } else if (creates) {
    plan.tablespaces.push({ tablespace, location, statements: [statement] });
  }
}

/** What a statement does, by kind and name, for a warning. */
export function describeStatement(statement: GlobalStatement): string {
  switch (statement.kind) {
    case 'role':
      return `${statement.create ? 'creating' : 'a property or setting of'} the role ${names([statement.role])}`;
    case 'role-in-database':
      return `a setting of ${names([statement.role])} in ${names([statement.database])}`;
    case 'membership':
      return `membership of ${names(statement.members)} in ${names(statement.granted)}`;
    case 'role-privilege':
      return `a privilege on a configuration parameter of ${names(statement.roles)}`;
    case 'tablespace':
      return `a property of the tablespace ${names([statement.tablespace])}`;
    case 'session':
      return 'a session setting';
    case 'other':
      return statement.reason;
  }
}

export const names = (list: string[]) => list.map(quotedName).join(', ');
