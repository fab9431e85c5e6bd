/**
 * A restore-test's hold on its scratch server: the lock that marks what it makes (see
 * postgres/scratch-marks.ts), taken before anything is made, and what earlier runs killed outright
 * left behind (scratch databases, the backup's roles with their production attributes and
 * password hashes) dropped first, databases before the roles that own their objects.
 */
import { printableName, quotedName } from '../core/database-names.js';
import { errorMessage } from '../core/errors.js';
import type { DatabaseTarget } from '../core/settings.js';
import type { Logger, RunContext } from '../core/types.js';
import { dropDatabase } from '../postgres/restore.js';
import { findLeftovers, ScratchLease } from '../postgres/scratch-marks.js';
import { withConnection } from '../postgres/server.js';
import { dropRoles } from './globals.js';

/** Runs `work` with the scratch server's leftovers gone and this run's mark held. */
export async function withScratchLease<T>(
  ctx: RunContext,
  server: DatabaseTarget,
  work: (mark: string) => Promise<T>,
): Promise<T> {
  const lease = await ScratchLease.take(server, ctx.signal);
  try {
    await removeLeftovers(server, ctx.log);
    return await work(lease.mark);
  } finally {
    await lease.release();
  }
}

async function removeLeftovers(server: DatabaseTarget, log: Logger): Promise<void> {
  const { databases, roles } = await withConnection(server, findLeftovers);
  for (const name of databases) {
    log.warning(
      `dropping the scratch database ${printableName(name)}, left by a restore-test that was killed`,
    );
    await dropDatabase(server, name).catch((error: unknown) => {
      log.warning(
        `could not drop the scratch database ${printableName(name)}: ${errorMessage(error)}`,
      );
    });
  }
  if (roles.length === 0) return;
  log.warning(
    `dropping the role(s) ${roles.map(quotedName).join(', ')}, made by a restore-test that was killed`,
  );
  await dropRoles(server, roles, log);
}
