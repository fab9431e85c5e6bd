/**
 * Owners and privileges, restored as in production when the target can take them: every role the
 * archive names exists there and the restoring role may act as its owners. Otherwise the data is
 * restored without them rather than fail half-way, and the reason is given.
 */
import { errorMessage } from '../core/errors.js';
import type { DatabaseTarget } from '../core/settings.js';
import type { Logger } from '../core/types.js';
import { databaseOwner } from '../postgres/database-statements.js';
import { unusableRoles } from '../postgres/restore.js';
import { quoteIdent, withConnection } from '../postgres/server.js';
import type { LocalArchive } from './archive.js';

/** Why owners and privileges cannot be restored into `target`, or undefined when they can. */
export async function ownersUnusable(
  archive: LocalArchive,
  target: DatabaseTarget,
  signal: AbortSignal,
): Promise<string | undefined> {
  const roles = await unusableRoles(target, (await archive.schema).roles, signal);
  const list = (names: string[]) =>
    names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
  const reasons = [
    ...(roles.missing.length > 0 ? [`the target has no role ${list(roles.missing)}`] : []),
    ...(roles.notMember.length > 0
      ? [`the restoring role is not a member of ${list(roles.notMember)}`]
      : []),
  ];
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/**
 * Gives the database restored into the source database's owner, which pg_restore sets only with
 * --create. A refusal is a warning: the objects inside already have their owners.
 */
export async function restoreDatabaseOwner(
  archive: LocalArchive,
  server: DatabaseTarget,
  database: string,
  log: Logger,
): Promise<string | undefined> {
  const owner = databaseOwner(await archive.databaseScript);
  if (owner === undefined) return undefined;
  try {
    await withConnection(server, (client) =>
      client.query(`ALTER DATABASE ${quoteIdent(database)} OWNER TO ${quoteIdent(owner)}`),
    );
    return owner;
  } catch (error) {
    log.warning(`${database} could not be given its owner ${owner}: ${errorMessage(error)}`);
    return undefined;
  }
}
