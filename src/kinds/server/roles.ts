/** What restore-globals did, as restore-test and restore of a server backup report it. */
import type { GlobalsApplied } from '../../restore/globals.js';
import { names } from '../../restore/globals-plan.js';

/**
 * One line: what was made, left alone, skipped or refused. `left` is for restore-test, which
 * drops the roles it made once done: those still there afterwards.
 */
export function rolesLine(
  asked: boolean,
  applied: GlobalsApplied | undefined,
  left?: string[],
): string {
  if (!asked) {
    const owners = left ? ': objects restored without owners and privileges' : '';
    return `not restored (restore-globals: false)${owners}`;
  }
  if (!applied) return 'not restored: the run stopped before';
  const { created, plan, failed, grantorsNotKept } = applied;
  const dropped = left && [
    left.length > 0 ? `not dropped: ${names(left)}` : 'the roles made were dropped afterwards',
  ];
  const listed = (label: string, lines: string[]) =>
    lines.length > 0 ? [`${label}: ${lines.join('; ')}`] : [];
  return [
    `${created.length} created${created.length > 0 ? ` (${names(created)})` : ''}`,
    ...listed('left as they were', plan.existing.length > 0 ? [names(plan.existing)] : []),
    ...listed(
      'tablespaces created',
      plan.tablespaces.length > 0 ? [names(plan.tablespaces.map((step) => step.tablespace))] : [],
    ),
    ...listed('allowed by allow-privileged-roles', plan.allowed),
    ...listed('skipped', plan.skipped),
    ...listed('grantor not kept', grantorsNotKept),
    ...listed('not applied', failed),
    ...(dropped ?? []),
  ].join('; ');
}
