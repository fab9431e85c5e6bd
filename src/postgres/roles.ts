/**
 * The roles an archive's SQL names: owners (ALTER … OWNER TO, SET SESSION AUTHORIZATION, default
 * privileges FOR ROLE), which the restoring role must be able to act as, and grantees (GRANT …
 * TO, REVOKE … FROM), which must exist. Read from `pg_restore --schema-only` output, where
 * pg_dump writes each of these statements on one line. Pure.
 */

export interface ArchiveRoles {
  owners: Set<string>;
  grantees: Set<string>;
}

const TOKEN = /"(?:[^"]|"")*"|[^\s,;()"]+|[,;()]/g;

export function emptyRoles(): ArchiveRoles {
  return { owners: new Set(), grantees: new Set() };
}

/** Adds the roles one line of the script names. */
export function addRolesOf(line: string, roles: ArchiveRoles): void {
  if (!/^(ALTER|GRANT|REVOKE|SET SESSION AUTHORIZATION) /.test(line) || !line.endsWith(';')) {
    return;
  }
  const tokens: string[] = line.match(TOKEN) ?? [];
  if (tokens[0] === 'SET') {
    addRole(roles.owners, tokens[3]);
    return;
  }
  if (tokens[0] === 'ALTER' && tokens[1] === 'DEFAULT') {
    const forRole = tokens.indexOf('ROLE');
    if (tokens[forRole - 1] === 'FOR') addRole(roles.owners, tokens[forRole + 1]);
    addGrantees(tokens.slice(tokens.findIndex((t) => t === 'GRANT' || t === 'REVOKE')), roles);
    return;
  }
  if (tokens[0] === 'ALTER') {
    if (tokens.at(-4) === 'OWNER' && tokens.at(-3) === 'TO') addRole(roles.owners, tokens.at(-2));
    return;
  }
  addGrantees(tokens, roles);
}

/** `GRANT … TO a, "b c" [WITH GRANT OPTION];` or `REVOKE … FROM a;` */
function addGrantees(tokens: string[], roles: ArchiveRoles): void {
  const keyword = tokens[0] === 'GRANT' ? 'TO' : tokens[0] === 'REVOKE' ? 'FROM' : undefined;
  if (!keyword) return;
  const from = tokens.lastIndexOf(keyword);
  if (from < 0) return;
  for (const token of tokens.slice(from + 1)) {
    if (token === 'WITH' || token === 'GRANTED' || token === ';') break;
    if (token !== ',' && token !== 'PUBLIC') addRole(roles.grantees, token);
  }
}

function addRole(into: Set<string>, token: string | undefined): void {
  if (!token || token === ';' || token === ',') return;
  into.add(token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token);
}
