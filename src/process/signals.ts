import { stopAllPrograms } from './programs.js';

/**
 * Cancellation: GitHub sends SIGINT, then SIGTERM, when a run is cancelled. The first signal aborts
 * the run: every program is stopped at that moment (none drains what it holds, none writes on),
 * the upload is aborted and nothing is published. A second one exits at once.
 */
export function cancelOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`Received ${name}: cancelling; nothing will be published\n`);
    // The run learns of the cancel first (its upload is aborted, not failed by a broken stream).
    controller.abort();
    stopAllPrograms();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
