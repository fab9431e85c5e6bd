/**
 * Which lines of pg_restore's schema script start outside quoted text, so that a comment, a
 * function body or a name holding a line like `ALTER TABLE t OWNER TO ghost;` is not read as an
 * owner's statement (hostile review of issue 31: such a comment made restores drop every owner).
 *
 * Covers: src/postgres/sql-lines.ts, src/postgres/roles.ts.
 */
import { describe, expect, it } from 'vitest';
import { addRolesOf, emptyRoles } from '../../src/postgres/roles.js';
import { ScriptLines } from '../../src/postgres/sql-lines.js';

/** The lines read as starting outside quoted text. */
function outside(script: string): string[] {
  const lines = new ScriptLines();
  return script.split('\n').filter((line) => lines.next(line));
}

function owners(script: string): string[] {
  const roles = emptyRoles();
  const lines = new ScriptLines();
  for (const line of script.split('\n')) if (lines.next(line)) addRolesOf(line, roles);
  return [...roles.owners];
}

const FORGED = 'ALTER TABLE public.t OWNER TO ghost_role;';

describe('ScriptLines', () => {
  it.each([
    ['a comment in quotes', `COMMENT ON TABLE public.t IS 'harmless\n${FORGED}\n';`],
    [
      'a comment with a doubled quote before the line',
      `COMMENT ON TABLE public.t IS 'it''s\n${FORGED}\n';`,
    ],
    ['an E string with an escaped quote', `COMMENT ON TABLE public.t IS E'a\\'\n${FORGED}\n';`],
    ['a function body in $$', `CREATE FUNCTION public.f() RETURNS void AS $$\n${FORGED}\n$$;`],
    [
      'a function body in $_$',
      `CREATE FUNCTION public.f() RETURNS void\n    AS $_$\n${FORGED}\n$_$;`,
    ],
    ['a body whose tag differs from a $$ inside', `AS $body$ x := '$$';\n${FORGED}\n$body$;`],
    ['a name with a line break', `CREATE TABLE public."a\n${FORGED}\n" (id integer);`],
  ])('skips a forged owner statement inside %s', (_, script) => {
    expect(owners(`${script}\nALTER TABLE public.t OWNER TO app_owner;`)).toEqual(['app_owner']);
  });

  it('reads the statements between quoted texts, and after a -- comment with a quote in it', () => {
    const script = [
      "COMMENT ON TABLE public.t IS 'one';",
      'ALTER TABLE public.t OWNER TO first;',
      "-- it's a comment",
      'ALTER TABLE public.u OWNER TO second;',
      'SELECT $1, a$b FROM x;',
      'ALTER TABLE public.v OWNER TO third;',
    ].join('\n');
    expect(owners(script)).toEqual(['first', 'second', 'third']);
  });

  it('says each line of a multi-line literal after the first starts inside it', () => {
    expect(outside("a 'b\nc\nd' e\nf")).toEqual(["a 'b", 'f']);
  });
});
