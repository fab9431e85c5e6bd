/** What restore-globals did, as restore-test and restore of a server backup report it. */
import type { GlobalsApplied } from '../../restore/globals.js';

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
  const { created, plan, failed } = applied;
  const dropped = left && [
    left.length > 0 ? `not dropped: ${left.join(', ')}` : 'the roles made were dropped afterwards',
  ];
  return [
    `${created.length} created${created.length > 0 ? ` (${created.join(', ')})` : ''}`,
    ...(plan.existing.length > 0 ? [`left as they were: ${plan.existing.join(', ')}`] : []),
    ...(plan.tablespaces.length > 0
      ? [`tablespaces created: ${plan.tablespaces.map((step) => step.tablespace).join(', ')}`]
      : []),
    ...(plan.skipped.length > 0 ? [`skipped: ${plan.skipped.join('; ')}`] : []),
    ...(failed.length > 0 ? [`not applied: ${failed.join('; ')}`] : []),
    ...(dropped ?? []),
  ].join('; ');
}
