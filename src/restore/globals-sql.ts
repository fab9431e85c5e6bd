/**
 * What `pg_dumpall --globals-only` wrote, statement by statement, read into what each statement
 * does. Pure. Each statement is read token by token against the few forms pg_dumpall writes, and
 * its SQL is written anew from what was read (names quoted, strings as literals): a statement is
 * never passed through, so nothing the reading missed can reach the server. A form not read
 * (`ALTER ROLE CURRENT_USER …`, `ALTER ROLE ALL SET …`, `RENAME`) is `other`, with why.
 */
import { quotedEnd, splitStatements } from '../postgres/database-statements.js';
import { quoteIdent, quoteLiteral } from '../postgres/server.js';

export type GlobalStatement =
  /**
   * CREATE ROLE, ALTER ROLE … WITH / SET, COMMENT ON ROLE, SECURITY LABEL ON ROLE. `options`:
   * those of CREATE or ALTER ROLE … WITH, each as written (`LOGIN`, `CONNECTION LIMIT 3`).
   */
  | { kind: 'role'; role: string; create: boolean; options: string[]; sql: string }
  /** ALTER ROLE r IN DATABASE d SET …: only for a database restored under its own name. */
  | { kind: 'role-in-database'; role: string; database: string; sql: string }
  /** GRANT g TO m: `members` become members of `granted`; `sql` without the grantor. */
  | {
      kind: 'membership';
      granted: string[];
      members: string[];
      grantor?: string;
      sql: string;
    }
  /** GRANT / REVOKE … ON PARAMETER (15+): privileges of the named roles. */
  | { kind: 'role-privilege'; roles: string[]; sql: string }
  | {
      kind: 'tablespace';
      tablespace: string;
      /** CREATE TABLESPACE: where it was. */
      location?: string;
      sql: string;
    }
  /** SET client_encoding and the like: for psql's session, not ours. */
  | { kind: 'session'; sql: string }
  /** Not read: never applied. `reason` names it without showing what it holds. */
  | { kind: 'other'; reason: string; sql: string };

/** Role attributes that reach beyond the restored databases: created only when allowed. */
export const PRIVILEGED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'SUPERUSER',
  'REPLICATION',
  'BYPASSRLS',
]);

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'name'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'symbol'; text: string };

const WORD = /[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*/y;
const NUMBER = /\d+(?:\.\d+)?/y;

/** The statement's tokens; quoted names unquoted, strings unescaped, words as written. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < sql.length) {
    const char = sql[at] ?? '';
    if (/\s/.test(char)) {
      at += 1;
      continue;
    }
    const escaped = (char === 'E' || char === 'e') && sql[at + 1] === "'";
    if (char === "'" || char === '"' || escaped) {
      const start = escaped ? at + 1 : at;
      const end = quotedEnd(sql, start, escaped);
      const body = sql.slice(start + 1, end - 1);
      tokens.push(
        char === '"'
          ? { kind: 'name', text: body.replace(/""/g, '"') }
          : { kind: 'string', text: unescapeString(body, escaped) },
      );
      at = end;
      continue;
    }
    const token = match(WORD, sql, at, 'word') ?? match(NUMBER, sql, at, 'number');
    tokens.push(token ?? { kind: 'symbol', text: char });
    at += token ? token.text.length : 1;
  }
  return tokens;
}

function match(pattern: RegExp, sql: string, at: number, kind: 'word' | 'number') {
  pattern.lastIndex = at;
  const found = pattern.exec(sql);
  return found ? { kind, text: found[0] } : undefined;
}

function unescapeString(body: string, escaped: boolean): string {
  const doubled = body.replace(/''/g, "'");
  if (!escaped) return doubled;
  return doubled.replace(
    /\\(.)/gs,
    (_, next: string) => ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' })[next] ?? next,
  );
}

/** A statement of a known form that does not read as pg_dumpall writes it. */
class Unreadable extends Error {}

/**
 * Words that stand for a role without naming one: the role running the statement, every role, or
 * nobody. Only unquoted: a quoted "CURRENT_USER" is a role of that name.
 */
const ROLE_KEYWORDS = new Set([
  'CURRENT_USER',
  'SESSION_USER',
  'CURRENT_ROLE',
  'ALL',
  'PUBLIC',
  'NONE',
]);

/** Reads a statement's tokens front to back. */
class Reader {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  /** Consumes the keywords if they come next, in this order (any case). */
  words(...words: string[]): boolean {
    const ahead = words.every((word, index) => {
      const token = this.tokens[this.at + index];
      return token?.kind === 'word' && token.text.toUpperCase() === word;
    });
    if (ahead) this.at += words.length;
    return ahead;
  }

  /** The next token if it is a bare word, upper-cased, consumed. */
  word(): string | undefined {
    const token = this.tokens[this.at];
    if (token?.kind !== 'word') return undefined;
    this.at += 1;
    return token.text.toUpperCase();
  }

  /** An object name: a quoted one as it is, a bare one folded to lower case as the server does. */
  name(): string {
    const token = this.tokens[this.at];
    if (token?.kind !== 'name' && token?.kind !== 'word') throw new Unreadable('a name expected');
    this.at += 1;
    return token.kind === 'name'
      ? token.text
      : token.text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  }

  /** A role's name; CURRENT_USER, ALL and the like name no role of the backup. */
  role(): string {
    const token = this.tokens[this.at];
    const keyword = token?.kind === 'word' ? token.text.toUpperCase() : '';
    if (ROLE_KEYWORDS.has(keyword)) {
      throw new Unreadable(`${keyword} is not the name of one of the backup's roles`);
    }
    return this.name();
  }

  /** Items separated by commas. */
  list<T>(item: () => T): T[] {
    const out = [item()];
    while (this.symbol(',')) out.push(item());
    return out;
  }

  symbol(text: string): boolean {
    const token = this.tokens[this.at];
    if (token?.kind !== 'symbol' || token.text !== text) return false;
    this.at += 1;
    return true;
  }

  string(): string {
    const token = this.tokens[this.at];
    if (token?.kind !== 'string') throw new Unreadable('a string expected');
    this.at += 1;
    return token.text;
  }

  /** A string literal, or NULL. */
  stringOrNull(): string | null {
    return this.words('NULL') ? null : this.string();
  }

  number(): string {
    const minus = this.symbol('-') ? '-' : '';
    const token = this.tokens[this.at];
    if (token?.kind !== 'number') throw new Unreadable('a number expected');
    this.at += 1;
    return minus + token.text;
  }

  position(): number {
    return this.at;
  }

  seek(at: number): void {
    this.at = at;
  }

  /** Fails unless every token was read. */
  end(): void {
    if (this.at < this.tokens.length) throw new Unreadable('more than pg_dumpall writes');
  }
}

/** Every statement of the globals script, read. */
export function globalStatements(script: string): GlobalStatement[] {
  return splitStatements(script).map(classify);
}

type Form = (r: Reader) => GlobalStatement;

const FORMS: [string[], Form][] = [
  [['CREATE', 'ROLE'], (r) => roleOptions(r, true)],
  [['ALTER', 'ROLE'], alterRole],
  [['COMMENT', 'ON', 'ROLE'], roleComment],
  [['SECURITY', 'LABEL'], roleLabel],
  [['GRANT'], (r) => grant(r, true)],
  [['REVOKE'], (r) => grant(r, false)],
  [['CREATE', 'TABLESPACE'], createTablespace],
  [['ALTER', 'TABLESPACE'], alterTablespace],
  [['COMMENT', 'ON', 'TABLESPACE'], tablespaceComment],
];

export function classify(sql: string): GlobalStatement {
  const tokens = tokenize(sql);
  const what = head(sql);
  for (const [words, form] of FORMS) {
    const reader = new Reader(tokens);
    if (!reader.words(...words)) continue;
    try {
      const statement = form(reader);
      reader.end();
      return statement;
    } catch (error) {
      if (!(error instanceof Unreadable)) throw error;
      return { kind: 'other', reason: `${what}: ${error.message}`, sql };
    }
  }
  if (new Reader(tokens).words('SET')) return { kind: 'session', sql };
  return { kind: 'other', reason: `${what}: not about roles or tablespaces`, sql };
}

/** The first words, enough to say what a statement is without showing what it holds. */
function head(sql: string): string {
  return sql
    .split(/\s+/)
    .slice(0, 3)
    .join(' ')
    .replace(/[^\w ]/g, '');
}

const FLAGS = new Set(
  ['SUPERUSER', 'CREATEDB', 'CREATEROLE', 'INHERIT', 'LOGIN', 'REPLICATION', 'BYPASSRLS'].flatMap(
    (flag) => [flag, `NO${flag}`],
  ),
);

/** `CREATE ROLE r [WITH] options` or `ALTER ROLE r [WITH] options`. */
function roleOptions(r: Reader, create: boolean, role = r.role()) {
  r.words('WITH');
  const options: string[] = [];
  for (let word = r.word(); word !== undefined; word = r.word()) options.push(roleOption(r, word));
  if (!create && options.length === 0) throw new Unreadable('no options');
  return { kind: 'role' as const, role, create, options, sql: roleSql(role, create, options) };
}

function roleOption(r: Reader, word: string): string {
  if (FLAGS.has(word)) return word;
  if (word === 'CONNECTION' && r.words('LIMIT')) return `CONNECTION LIMIT ${r.number()}`;
  if (word === 'PASSWORD' || (word === 'ENCRYPTED' && r.words('PASSWORD'))) {
    const password = r.stringOrNull();
    return `PASSWORD ${password === null ? 'NULL' : quoteLiteral(password)}`;
  }
  if (word === 'VALID' && r.words('UNTIL')) return `VALID UNTIL ${quoteLiteral(r.string())}`;
  throw new Unreadable(`${word} is not a role option pg_dumpall writes`);
}

/** The SQL of a CREATE or ALTER ROLE with these options, each as `roleOption` wrote it. */
export function roleSql(role: string, create: boolean, options: string[]): string {
  const withOptions = options.length > 0 ? ` WITH ${options.join(' ')}` : '';
  return `${create ? 'CREATE' : 'ALTER'} ROLE ${quoteIdent(role)}${withOptions}`;
}

function alterRole(r: Reader) {
  const role = r.role();
  if (r.words('IN', 'DATABASE')) {
    const database = r.name();
    if (!r.words('SET')) throw new Unreadable('only SET is read');
    const sql = `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)} SET ${settingValue(r)}`;
    return { kind: 'role-in-database' as const, role, database, sql };
  }
  if (r.words('SET')) return roleSetting(role, r);
  return roleOptions(r, false, role);
}

function roleSetting(role: string, r: Reader) {
  const sql = `ALTER ROLE ${quoteIdent(role)} SET ${settingValue(r)}`;
  return { kind: 'role' as const, role, create: false, options: [], sql };
}

/** `name TO 'v'[, …]` after SET, written anew. */
function settingValue(r: Reader): string {
  const name = r.name();
  if (!r.words('TO') && !r.symbol('=')) throw new Unreadable('TO expected');
  const values = r.list(() => quoteLiteral(r.string()));
  return `${quoteIdent(name)} TO ${values.join(', ')}`;
}

function roleComment(r: Reader) {
  const role = r.role();
  const sql = `COMMENT ON ROLE ${quoteIdent(role)} IS ${commentValue(r)}`;
  return { kind: 'role' as const, role, create: false, options: [], sql };
}

function commentValue(r: Reader): string {
  if (!r.words('IS')) throw new Unreadable('IS expected');
  const text = r.stringOrNull();
  return text === null ? 'NULL' : quoteLiteral(text);
}

function roleLabel(r: Reader) {
  const provider = r.words('FOR') ? ` FOR ${quoteIdent(r.name())}` : '';
  if (!r.words('ON', 'ROLE')) throw new Unreadable('only labels on roles are read');
  const role = r.role();
  const sql = `SECURITY LABEL${provider} ON ROLE ${quoteIdent(role)} IS ${commentValue(r)}`;
  return { kind: 'role' as const, role, create: false, options: [], sql };
}

const PRIVILEGE_WORDS = new Set(['ALL', 'PRIVILEGES', 'SET', 'ALTER', 'SYSTEM', 'CREATE']);

/** `GRANT g TO m …` (a membership), or GRANT / REVOKE … ON PARAMETER / TABLESPACE. */
function grant(r: Reader, granting: boolean): GlobalStatement {
  const optionFor = !granting && r.words('GRANT', 'OPTION', 'FOR') ? 'GRANT OPTION FOR ' : '';
  const privileges = privilegeList(r);
  if (privileges === undefined) {
    if (!granting) throw new Unreadable('revoking a membership is not read');
    return membership(r);
  }
  const on = r.words('PARAMETER') ? 'PARAMETER' : r.words('TABLESPACE') ? 'TABLESPACE' : '';
  if (!on) throw new Unreadable('only privileges on parameters and tablespaces are read');
  const objects = r.list(() => r.name());
  if (!r.words(granting ? 'TO' : 'FROM')) throw new Unreadable('no grantee');
  // PUBLIC is every role of the server: only a tablespace this restore makes may grant to it.
  const grantees = r.list(() => (on === 'TABLESPACE' && r.words('PUBLIC') ? null : r.role()));
  const to = grantees.map((role) => (role === null ? 'PUBLIC' : quoteIdent(role))).join(', ');
  const withGrant = granting && r.words('WITH', 'GRANT', 'OPTION') ? ' WITH GRANT OPTION' : '';
  if (r.words('GRANTED', 'BY')) r.role();
  const cascade = !granting && r.words('CASCADE') ? ' CASCADE' : '';
  const sql = `${granting ? 'GRANT' : 'REVOKE'} ${optionFor}${privileges.join(', ')} ON ${on} ${objects.map(quoteIdent).join(', ')} ${granting ? 'TO' : 'FROM'} ${to}${withGrant}${cascade}`;
  if (on === 'TABLESPACE') return { kind: 'tablespace', tablespace: objects[0] ?? '', sql };
  const roles = grantees.filter((role): role is string => role !== null);
  return { kind: 'role-privilege', roles, sql };
}

/**
 * The privileges before ON (`SET`, `ALTER SYSTEM`, `ALL PRIVILEGES`); undefined, with nothing
 * consumed, when the statement is a membership (role names, then TO).
 */
function privilegeList(r: Reader): string[] | undefined {
  const start = r.position();
  const privileges: string[] = [];
  let words: string[] = [];
  for (let word = r.word(); word !== undefined && PRIVILEGE_WORDS.has(word); word = r.word()) {
    words.push(word);
    if (r.symbol(',')) {
      privileges.push(words.join(' '));
      words = [];
    } else if (r.words('ON')) return [...privileges, words.join(' ')];
  }
  r.seek(start);
  return undefined;
}

const MEMBERSHIP_OPTIONS = new Set(['ADMIN', 'INHERIT', 'SET']);

/** `GRANT g TO m [WITH ADMIN OPTION | WITH INHERIT TRUE, …] [GRANTED BY r]`. */
function membership(r: Reader) {
  const granted = r.list(() => r.role());
  if (!r.words('TO')) throw new Unreadable('TO expected');
  const members = r.list(() => r.role());
  const options = r.words('WITH') ? r.list(() => membershipOption(r)) : [];
  const grantor = r.words('GRANTED', 'BY') ? r.role() : undefined;
  const sql = membershipSql(granted, members, options);
  return { kind: 'membership' as const, granted, members, sql, ...(grantor && { grantor }) };
}

function membershipOption(r: Reader): string {
  const option = r.word() ?? '';
  const value = r.word() ?? '';
  if (!MEMBERSHIP_OPTIONS.has(option) || !['OPTION', 'TRUE', 'FALSE'].includes(value)) {
    throw new Unreadable(`${option} ${value} is not a membership option pg_dumpall writes`);
  }
  return `${option} ${value}`;
}

function membershipSql(granted: string[], members: string[], options: string[]): string {
  const withOptions = options.length > 0 ? ` WITH ${options.join(', ')}` : '';
  return `GRANT ${granted.map(quoteIdent).join(', ')} TO ${members.map(quoteIdent).join(', ')}${withOptions}`;
}

/** A membership's SQL with its grantor named, for a server that can record it. */
export function withGrantor(sql: string, grantor: string): string {
  return `${sql} GRANTED BY ${quoteIdent(grantor)}`;
}

function createTablespace(r: Reader) {
  const tablespace = r.name();
  const owner = r.words('OWNER') ? ` OWNER ${quoteIdent(r.role())}` : '';
  if (!r.words('LOCATION')) throw new Unreadable('LOCATION expected');
  const location = r.string();
  const sql = `CREATE TABLESPACE ${quoteIdent(tablespace)}${owner} LOCATION ${quoteLiteral(location)}`;
  return { kind: 'tablespace' as const, tablespace, location, sql };
}

/** `ALTER TABLESPACE t SET (option = value, …)`. */
function alterTablespace(r: Reader) {
  const tablespace = r.name();
  if (!r.words('SET') || !r.symbol('(')) throw new Unreadable('SET ( expected');
  const options = r.list(() => {
    const option = r.name();
    if (!r.symbol('=')) throw new Unreadable('= expected');
    return `${quoteIdent(option)} = ${r.number()}`;
  });
  if (!r.symbol(')')) throw new Unreadable(') expected');
  const sql = `ALTER TABLESPACE ${quoteIdent(tablespace)} SET (${options.join(', ')})`;
  return { kind: 'tablespace' as const, tablespace, sql };
}

function tablespaceComment(r: Reader) {
  const tablespace = r.name();
  const sql = `COMMENT ON TABLESPACE ${quoteIdent(tablespace)} IS ${commentValue(r)}`;
  return { kind: 'tablespace' as const, tablespace, sql };
}
