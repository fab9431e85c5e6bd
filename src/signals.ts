/**
 * Cancellation: GitHub sends SIGINT, then SIGTERM, when a run is cancelled. The first signal aborts
 * the run (the dump is stopped, the upload aborted, nothing published); a second one exits at once.
 */
export function cancelOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`Received ${name}: cancelling; nothing will be published\n`);
    controller.abort();
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
