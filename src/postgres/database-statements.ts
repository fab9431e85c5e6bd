/**
 * The database's own settings, comment and privileges as the archive holds them: pg_dump writes
 * `ALTER DATABASE … SET …`, `ALTER ROLE … IN DATABASE … SET …`, `COMMENT ON DATABASE …` and
 * `GRANT / REVOKE … ON DATABASE …`, and `ALTER DATABASE … IS_TEMPLATE = true` for a template, into
 * entries that pg_restore prints only with --create, naming the source database. Pure. Each
 * statement is read token by token, so that its database name is replaced where it stands (and
 * quoted as quote_ident does), never by searching the text, which may hold the name anywhere.
 */
import { quoteIdent } from './server.js';

export interface DatabaseStatement {
  kind: 'setting' | 'comment' | 'privilege' | 'template';
  /** A setting's role (for ALTER ROLE … IN DATABASE) and parameter name. */
  setting?: { role: string | null; name: string };
  /** A privilege statement's privileges (CONNECT, TEMPORARY, CREATE) and grantees (null: PUBLIC). */
  privilege?: DatabasePrivilege;
  /** The statement as the archive has it, for reports. */
  text: string;
  /** The statement for the database named `database`. */
  sql(database: string): string;
}

export interface DatabasePrivilege {
  grant: boolean;
  privileges: string[];
  grantees: (string | null)[];
}

/** The settings, comment and privileges in a pg_restore --create script, for the database it creates. */
export function databaseStatements(script: string): DatabaseStatement[] {
  const statements = splitStatements(script).map(readStatement);
  const created = statements.find((s) => s?.kind === 'create')?.database;
  return statements.flatMap((statement) =>
    statement && statement.kind !== 'create' && statement.database === created
      ? [statement.statement]
      : [],
  );
}

/**
 * SQL statements, split at semicolons outside quotes ('…' with '' inside, E'…' with backslash
 * escapes, "…"), without comments and without psql's \ command lines (\connect, and the
 * \restrict / \unrestrict that 17.6+ clients write).
 */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let current = '';
  let at = 0;
  const lineEnd = (from: number) => {
    const end = script.indexOf('\n', from);
    return end === -1 ? script.length : end + 1;
  };
  while (at < script.length) {
    const char = script[at] ?? '';
    if ((char === '\\' && current.trim() === '') || script.startsWith('--', at)) {
      at = lineEnd(at);
    } else if (script.startsWith('/*', at)) {
      const end = script.indexOf('*/', at + 2);
      at = end === -1 ? script.length : end + 2;
      current += ' ';
    } else if (char === "'" || char === '"') {
      const end = quotedEnd(script, at, char === "'" && escapeString(script, at));
      current += script.slice(at, end);
      at = end;
    } else if (char === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
      at += 1;
    } else {
      current += char;
      at += 1;
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** Whether the string at `start` is an E'…' string: an E that does not end a longer word. */
function escapeString(text: string, start: number): boolean {
  return /[eE]/.test(text[start - 1] ?? '') && !/[\w$\u0080-\uffff]/.test(text[start - 2] ?? '');
}

/**
 * Where the quoted text starting at `start` ends: a doubled quote is one quote inside it, and in
 * an E'…' string so is a backslash-escaped one.
 */
export function quotedEnd(text: string, start: number, backslashes = false): number {
  const quote = text[start];
  let at = start + 1;
  while (at < text.length) {
    if (backslashes && text[at] === '\\') at += 2;
    else if (text[at] === quote) {
      if (text[at + 1] !== quote) return at + 1;
      at += 2;
    } else at += 1;
  }
  return text.length;
}

/** The owner that `ALTER DATABASE d OWNER TO r` in a pg_restore --create script gives. */
export function databaseOwner(script: string): string | undefined {
  for (const statement of splitStatements(script)) {
    const tokens = new Tokens(statement);
    if (!tokens.word('ALTER') || !tokens.word('DATABASE') || tokens.identifier() === undefined) {
      continue;
    }
    if (tokens.word('OWNER') && tokens.word('TO')) return tokens.identifier();
  }
  return undefined;
}

type Read =
  | { kind: 'create'; database: string }
  | {
      kind: DatabaseStatement['kind'];
      database: string;
      statement: DatabaseStatement;
    }
  | undefined;

const IDENTIFIER = /^\s*("(?:[^"]|"")*"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)/;

/** Reads words and identifiers off the front of a statement. */
class Tokens {
  constructor(private rest: string) {}

  /** Consumes `word` (any case) if it comes next. */
  word(word: string): boolean {
    const match = /^\s*([A-Za-z_]+)/.exec(this.rest);
    if (match?.[1]?.toUpperCase() !== word) return false;
    this.rest = this.rest.slice(match[0].length);
    return true;
  }

  identifier(): string | undefined {
    const match = IDENTIFIER.exec(this.rest);
    if (!match?.[1]) return undefined;
    this.rest = this.rest.slice(match[0].length);
    const token = match[1];
    return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token;
  }

  /** Consumes `symbol` if it comes next. */
  symbol(symbol: string): boolean {
    const rest = this.rest.trimStart();
    if (!rest.startsWith(symbol)) return false;
    this.rest = rest.slice(symbol.length);
    return true;
  }

  remainder(): string {
    return this.rest.trim();
  }
}

function readStatement(text: string): Read {
  const tokens = new Tokens(text);
  if (tokens.word('CREATE') && tokens.word('DATABASE')) {
    const database = tokens.identifier();
    return database === undefined ? undefined : { kind: 'create', database };
  }
  const again = new Tokens(text);
  if (again.word('COMMENT') && again.word('ON') && again.word('DATABASE')) {
    const database = again.identifier();
    if (database === undefined || !again.word('IS')) return undefined;
    const value = again.remainder();
    const sql = (db: string) => `COMMENT ON DATABASE ${quoteIdent(db)} IS ${value}`;
    return { kind: 'comment', database, statement: { kind: 'comment', text, sql } };
  }
  return readPrivilege(text) ?? readTemplate(text) ?? readSetting(text);
}

/** `ALTER DATABASE d IS_TEMPLATE = true`: what pg_dump writes for a template database. */
function readTemplate(text: string): Read {
  const tokens = new Tokens(text);
  if (!tokens.word('ALTER') || !tokens.word('DATABASE')) return undefined;
  const database = tokens.identifier();
  if (database === undefined || !tokens.word('IS_TEMPLATE')) return undefined;
  tokens.symbol('=');
  if (!tokens.word('TRUE') || tokens.remainder() !== '') return undefined;
  const sql = (db: string) => `ALTER DATABASE ${quoteIdent(db)} IS_TEMPLATE = true`;
  return { kind: 'template', database, statement: { kind: 'template', text, sql } };
}

/** What ALL grants on a database; TEMP is TEMPORARY. */
const DATABASE_PRIVILEGES: Record<string, string[]> = {
  CONNECT: ['CONNECT'],
  CREATE: ['CREATE'],
  TEMPORARY: ['TEMPORARY'],
  TEMP: ['TEMPORARY'],
  ALL: ['CREATE', 'CONNECT', 'TEMPORARY'],
};

/** `GRANT p[,p] ON DATABASE d TO g[, g] [WITH GRANT OPTION]` or `REVOKE … FROM …`. */
function readPrivilege(text: string): Read {
  const tokens = new Tokens(text);
  const grant = tokens.word('GRANT');
  if (!grant && !tokens.word('REVOKE')) return undefined;
  const privileges: string[] = [];
  do {
    const word = ['CONNECT', 'CREATE', 'TEMPORARY', 'TEMP', 'ALL'].find((w) => tokens.word(w));
    if (word === undefined) return undefined;
    if (word === 'ALL') tokens.word('PRIVILEGES');
    privileges.push(...(DATABASE_PRIVILEGES[word] ?? []));
  } while (tokens.symbol(','));
  if (!tokens.word('ON') || !tokens.word('DATABASE')) return undefined;
  const database = tokens.identifier();
  if (database === undefined || !tokens.word(grant ? 'TO' : 'FROM')) return undefined;
  const grantees: (string | null)[] = [];
  do {
    const grantee = tokens.word('PUBLIC') ? null : tokens.identifier();
    if (grantee === undefined) return undefined;
    grantees.push(grantee);
  } while (tokens.symbol(','));
  const option = grant && tokens.word('WITH') && tokens.word('GRANT') && tokens.word('OPTION');
  if (tokens.remainder() !== '') return undefined;
  const to = grantees.map((g) => (g === null ? 'PUBLIC' : quoteIdent(g))).join(', ');
  const sql = (db: string) =>
    `${grant ? 'GRANT' : 'REVOKE'} ${privileges.join(', ')} ON DATABASE ${quoteIdent(db)} ${grant ? 'TO' : 'FROM'} ${to}${option ? ' WITH GRANT OPTION' : ''}`;
  const privilege = { grant, privileges, grantees };
  return { kind: 'privilege', database, statement: { kind: 'privilege', privilege, text, sql } };
}

/** `ALTER DATABASE d SET …` or `ALTER ROLE r IN DATABASE d SET …`. */
function readSetting(text: string): Read {
  const tokens = new Tokens(text);
  if (!tokens.word('ALTER')) return undefined;
  let role: string | null = null;
  if (tokens.word('ROLE')) {
    role = tokens.identifier() ?? null;
    if (role === null || !tokens.word('IN')) return undefined;
  }
  if (!tokens.word('DATABASE')) return undefined;
  const database = tokens.identifier();
  if (database === undefined || !tokens.word('SET')) return undefined;
  const value = tokens.remainder();
  const name = new Tokens(value).identifier();
  if (name === undefined) return undefined;
  const on = (db: string) =>
    role === null
      ? `DATABASE ${quoteIdent(db)}`
      : `ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)}`;
  const statement: DatabaseStatement = {
    kind: 'setting',
    setting: { role, name },
    text,
    sql: (db) => `ALTER ${on(db)} SET ${value}`,
  };
  return { kind: 'setting', database, statement };
}
