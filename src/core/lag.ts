/**
 * How far a store is behind the store it copies: since when the oldest of the source's backups
 * newer than the newest one the store holds was made; 0 when it holds the newest. A store that
 * missed one night's copy is behind from the moment that backup was made. Pure.
 */
import { formatDuration } from './duration.js';

/** `backups`: the source's complete backups, newest first; `held`: which the store holds. */
export function lagMs(
  backups: readonly { id: string; createdAt: string }[],
  held: (id: string) => boolean,
  now: Date,
): number {
  const newestHeld = backups.findIndex(({ id }) => held(id));
  const missing = newestHeld < 0 ? backups : backups.slice(0, newestHeld);
  const oldestMissing = missing.at(-1);
  if (!oldestMissing) return 0;
  return Math.max(0, now.getTime() - Date.parse(oldestMissing.createdAt));
}

export function formatLag(ms: number): string {
  return ms === 0 ? 'holds the newest' : `${formatDuration(ms)} behind`;
}
