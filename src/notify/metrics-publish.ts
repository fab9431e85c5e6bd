/**
 * The run's metrics to where the inputs send them: the metrics file and the Pushgateway, whatever
 * notify-on says (they hold the set's state, not alerts). Neither ever fails the run: each that
 * cannot be written gives one warning naming its input.
 */
import { errorMessage } from '../core/errors.js';
import type { RunReport } from '../core/report.js';
import type { MetricsSettings } from '../core/settings.js';
import { defaultDelivery, type Delivery } from './http.js';
import { defaultFileOptions, writeMetricsFile, type FileOptions } from './metrics-file.js';
import { runSamples } from './metrics.js';
import { pushMetrics } from './pushgateway.js';

export async function publishMetrics(
  report: RunReport,
  settings: MetricsSettings,
  delivery: Delivery = defaultDelivery,
  fileOptions: FileOptions = defaultFileOptions,
): Promise<string[]> {
  const run = runSamples(report);
  const { file, pushgatewayUrl } = settings;
  const sinks: [string, () => Promise<string[]>][] = [];
  if (run.length > 0 && file) {
    sinks.push(['metrics-file', () => writeMetricsFile(file, run, fileOptions)]);
  }
  if (run.length > 0 && pushgatewayUrl) {
    sinks.push(['pushgateway-url', () => pushMetrics(pushgatewayUrl, run, delivery)]);
  }
  const results = await Promise.allSettled(sinks.map(([, write]) => write()));
  return results.flatMap((result, index) => {
    const input = sinks[index]?.[0] ?? '';
    return result.status === 'fulfilled'
      ? result.value.map((warning) => `${input}: ${warning}`)
      : [`${input}: ${errorMessage(result.reason)}`];
  });
}
