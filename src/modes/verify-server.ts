/**
 * verify-latest for a server backup (`databases`): the rules of the whole backup, and each
 * database against the same database in the previous one; with `deep`, every object read and
 * every damaged one named. The outputs are the whole backup's; a table shows each database.
 */
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { formatBytes, formatCount } from '../core/format.js';
import { isServerManifest, type AnyManifest, type ServerManifest } from '../core/manifest.js';
import type { VerifySettings } from '../core/settings.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from '../core/types.js';
import { restoreProgram } from '../postgres/restore.js';
import { databaseChanges } from '../verify/rules.js';
import { checkServerObjects, type ServerContents } from '../verify/server-check.js';

export interface ServerFound {
  manifest: ServerManifest;
  ageMs: number;
  /** What verify-latest reports of any backup: its facts, outputs and the trend table. */
  partial: Partial<ModeResult>;
  /** The rules it already broke. */
  problems: string[];
}

const quoted = (name: string): string => JSON.stringify(name);

/**
 * Each database that shrank more than max-shrink against the previous backup, as a problem; a
 * database the previous backup held and the newest does not, as a warning (it may have been
 * dropped on purpose).
 */
export function databaseRules(
  manifest: ServerManifest,
  previous: AnyManifest | undefined,
  maxShrink: number,
  ctx: RunContext,
): string[] {
  if (!previous || !isServerManifest(previous)) return [];
  const sizes = (m: ServerManifest) =>
    m.databases.map((d) => ({ name: d.name, size: d.object.size }));
  const { shrank, gone } = databaseChanges(sizes(manifest), sizes(previous), maxShrink);
  if (gone.length > 0) {
    ctx.log.warning(
      `the previous backup ${previous.id} holds database(s) the newest does not: ${gone.map(quoted).join(', ')} (dropped, or no longer selected by databases?)`,
    );
  }
  return shrank;
}

export async function verifyServer(
  settings: VerifySettings,
  ctx: RunContext,
  found: ServerFound,
): Promise<ModeResult> {
  const { manifest, problems } = found;
  const partial = (contents?: ServerContents): Partial<ModeResult> => ({
    ...found.partial,
    facts: [...(found.partial.facts ?? []), ...serverFacts(manifest)],
    tables: [...(found.partial.tables ?? []), databaseTable(manifest, settings.deep, contents)],
  });
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), partial());
  const contents = settings.deep ? await deepRead(settings, ctx, manifest, partial()) : undefined;
  if (contents && contents.damaged.size > 0) {
    throw new ModeFailure([...contents.damaged.values()].join('; '), partial(contents));
  }
  return finish(found, partial(contents), contents);
}

async function deepRead(
  settings: VerifySettings,
  ctx: RunContext,
  manifest: ServerManifest,
  partial: Partial<ModeResult>,
): Promise<ServerContents> {
  try {
    // Chosen before any download, so a client that cannot read the archives fails first.
    const pgRestore = await restoreProgram(manifest, settings.client, ctx);
    const reader = { store: ctx.store, decryption: settings.decryption, signal: ctx.signal };
    return await checkServerObjects(manifest, { ...reader, pgRestore });
  } catch (error) {
    throw new ModeFailure(errorMessage(error), partial);
  }
}

function serverFacts(manifest: ServerManifest): [string, string][] {
  const names = manifest.databases.map((d) => d.name);
  const shown = names.slice(0, 10).map(quoted).join(', ') + (names.length > 10 ? ', …' : '');
  const globals = manifest.globals;
  const roles = globals
    ? `${formatCount(globals.roles.length)} role(s)${globals.rolePasswords ? '' : ', without their passwords'}`
    : 'not in this backup';
  return [
    ['Databases', `${formatCount(names.length)}: ${shown}`],
    ['Globals', roles],
  ];
}

/** One row per database (and the globals): its size, what its manifest counted, what was checked. */
function databaseTable(
  manifest: ServerManifest,
  deep: boolean,
  contents: ServerContents | undefined,
): Table {
  const estimate = manifest.rowCountsMode === 'estimate' ? '~' : '';
  const checked = (key: string, passed: string | undefined): string => {
    if (!deep) return 'listed at its size';
    if (contents?.damaged.has(key)) return 'DAMAGED';
    return passed ?? 'not read';
  };
  const rows = manifest.databases.map(({ name, object, rowCounts }) => {
    const archive = contents?.databases.get(name);
    const counts = rowCounts && Object.values(rowCounts);
    return [
      name,
      formatBytes(object.size),
      counts ? formatCount(counts.length) : '',
      counts ? `${estimate}${formatCount(counts.reduce((sum, n) => sum + n, 0))}` : '',
      checked(
        object.key,
        archive &&
          `sha256, archive: ${formatCount(archive.entries)} entries, ${archive.tablesWithData ?? 0} with table data`,
      ),
    ];
  });
  const globals = manifest.globals;
  if (globals) {
    const sql = contents?.globals;
    const passed = sql && `sha256, SQL: ${formatCount(sql.roles)} CREATE ROLE`;
    rows.push([
      '(globals)',
      formatBytes(globals.object.size),
      '',
      '',
      checked(globals.object.key, passed),
    ]);
  }
  return {
    title: `Databases of ${manifest.id}`,
    header: ['database', 'size', 'tables', 'rows', 'checked'],
    rows,
  };
}

function finish(
  found: ServerFound,
  partial: Partial<ModeResult>,
  contents: ServerContents | undefined,
): ModeResult {
  const { manifest, ageMs } = found;
  const facts = [...(partial.facts ?? [])];
  const objects = manifest.databases.length + (manifest.globals ? 1 : 0);
  if (contents) {
    facts.push(['sha256', `every object's matches its stored bytes (${formatCount(objects)})`]);
    const globals = contents.globals ? ', the globals as pg_dumpall SQL' : '';
    facts.push([
      'Archives',
      `readable: ${formatCount(contents.databases.size)} database(s)${globals}`,
    ]);
  } else {
    facts.push(['Deep check', 'skipped (deep: false)']);
  }
  const what = `${formatCount(manifest.databases.length)} database(s)${manifest.globals ? ' and the globals' : ''}`;
  return {
    headline: `Newest backup ${manifest.name}/${manifest.id} (${what}) is ${formatDuration(ageMs)} old${contents ? ', every checksum and archive verified' : ''}`,
    outputs: partial.outputs ?? {},
    facts,
    tables: partial.tables ?? [],
    details: {
      manifest,
      ageSeconds: Math.round(ageMs / 1000),
      contents: contents && {
        databases: Object.fromEntries(contents.databases),
        globals: contents.globals,
      },
    },
  };
}
