/**
 * What `pg_dumpall --globals-only` wrote, statement by statement, and which of it a restore
 * applies. Pure. Each statement is classified by the role or tablespace it concerns, read token by
 * token (names may hold anything: `a"; DROP ROLE x; --` is one quoted name), and the plan applies
 * only what concerns roles and tablespaces the target did not have: what exists is left as it is.
 */
import { quotedEnd, splitStatements } from '../postgres/database-statements.js';

export type GlobalStatement =
  /** CREATE ROLE, ALTER ROLE … WITH / SET / RESET, COMMENT ON ROLE, SECURITY LABEL ON ROLE. */
  | { kind: 'role'; role: string; create: boolean; sql: string }
  /** ALTER ROLE r IN DATABASE d SET …: only for a database restored under its own name. */
  | { kind: 'role-in-database'; role: string; database: string; sql: string }
  /** GRANT g TO m: `members` become members of `granted`. Without its GRANTED BY (see below). */
  | { kind: 'membership'; granted: string[]; members: string[]; sql: string }
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
  | { kind: 'other'; sql: string };

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'name'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'symbol'; text: string };

const WORD = /[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*/y;

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
    WORD.lastIndex = at;
    const word = WORD.exec(sql);
    if (word) {
      tokens.push({ kind: 'word', text: word[0] });
      at += word[0].length;
    } else {
      tokens.push({ kind: 'symbol', text: char });
      at += 1;
    }
  }
  return tokens;
}

function unescapeString(body: string, escaped: boolean): string {
  const doubled = body.replace(/''/g, "'");
  if (!escaped) return doubled;
  return doubled.replace(
    /\\(.)/gs,
    (_, next: string) => ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' })[next] ?? next,
  );
}

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

  /** A role or object name: a quoted one as it is, a bare one folded to lower case as the server does. */
  name(): string | undefined {
    const token = this.tokens[this.at];
    if (token?.kind !== 'name' && token?.kind !== 'word') return undefined;
    this.at += 1;
    return token.kind === 'name'
      ? token.text
      : token.text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  }

  /** Names separated by commas. */
  names(): string[] {
    const out: string[] = [];
    for (;;) {
      const name = this.name();
      if (name === undefined) return out;
      out.push(name);
      if (!this.symbol(',')) return out;
    }
  }

  symbol(text: string): boolean {
    const token = this.tokens[this.at];
    if (token?.kind !== 'symbol' || token.text !== text) return false;
    this.at += 1;
    return true;
  }

  /** Skips to just after the next keyword `word` at this level; false when there is none. */
  skipPast(word: string): boolean {
    for (let at = this.at; at < this.tokens.length; at++) {
      const token = this.tokens[at];
      if (token?.kind === 'word' && token.text.toUpperCase() === word) {
        this.at = at + 1;
        return true;
      }
    }
    return false;
  }

  string(): string | undefined {
    const token = this.tokens[this.at];
    if (token?.kind !== 'string') return undefined;
    this.at += 1;
    return token.text;
  }
}

/** Every statement of the globals script, classified. */
export function globalStatements(script: string): GlobalStatement[] {
  return splitStatements(script).map(classify);
}

export function classify(sql: string): GlobalStatement {
  const tokens = tokenize(sql);
  const fresh = () => new Reader(tokens);
  return (
    roleStatement(fresh(), sql) ??
    grantStatement(fresh(), sql) ??
    tablespaceStatement(fresh(), sql) ??
    (fresh().words('SET') ? { kind: 'session', sql } : { kind: 'other', sql })
  );
}

function roleStatement(r: Reader, sql: string): GlobalStatement | undefined {
  const create = r.words('CREATE', 'ROLE');
  const on =
    create ||
    r.words('ALTER', 'ROLE') ||
    r.words('COMMENT', 'ON', 'ROLE') ||
    (r.words('SECURITY', 'LABEL') && r.skipPast('ON') && r.words('ROLE'));
  if (!on) return undefined;
  const role = r.name();
  if (role === undefined) return undefined;
  if (!create && r.words('IN', 'DATABASE')) {
    const database = r.name();
    return database === undefined ? undefined : { kind: 'role-in-database', role, database, sql };
  }
  return { kind: 'role', role, create, sql };
}

/** `GRANT a TO b …`, `GRANT … ON PARAMETER … TO r`, `REVOKE … ON PARAMETER … FROM r`. */
function grantStatement(r: Reader, sql: string): GlobalStatement | undefined {
  const grant = r.words('GRANT');
  if (!grant && !r.words('REVOKE')) return undefined;
  const granted = r.names();
  if (grant && granted.length > 0 && r.words('TO')) {
    const members = r.names();
    // The grantor is the source's; the restoring role grants on the target (and may not be able
    // to grant as another role, which may not even exist there).
    return { kind: 'membership', granted, members, sql: withoutGrantor(sql) };
  }
  if (!r.skipPast('ON')) return undefined;
  if (r.words('TABLESPACE')) {
    const tablespace = r.name();
    return tablespace === undefined ? undefined : { kind: 'tablespace', tablespace, sql };
  }
  if (!r.words('PARAMETER') || !r.skipPast(grant ? 'TO' : 'FROM')) return undefined;
  return { kind: 'role-privilege', roles: r.names(), sql };
}

/**
 * The statement without its trailing `GRANTED BY r`, which only counts outside quoted names: a
 * role may be named `m GRANTED BY x`, and cutting there would leave half a name.
 */
function withoutGrantor(sql: string): string {
  const match = /\s+GRANTED\s+BY\s+("(?:[^"]|"")*"|[^\s"]+)\s*$/i.exec(sql);
  if (!match) return sql;
  const before = sql.slice(0, match.index);
  const outsideQuotes = (before.match(/"/g)?.length ?? 0) % 2 === 0;
  return outsideQuotes ? before : sql;
}

function tablespaceStatement(r: Reader, sql: string): GlobalStatement | undefined {
  const create = r.words('CREATE', 'TABLESPACE');
  if (!create && !r.words('ALTER', 'TABLESPACE') && !r.words('COMMENT', 'ON', 'TABLESPACE')) {
    return undefined;
  }
  const tablespace = r.name();
  if (tablespace === undefined) return undefined;
  if (!create) return { kind: 'tablespace', tablespace, sql };
  const location = r.skipPast('LOCATION') ? r.string() : undefined;
  return { kind: 'tablespace', tablespace, location, sql };
}
