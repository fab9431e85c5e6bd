/** The action's entry point (`runs.main` in action.yml). */
import { nodeTooOld } from './core/node-version.js';

// Checked before the rest is loaded, whose modules need a newer Node than an old one can start.
const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stdout.write(`::error::${tooOld}\n`);
  process.exitCode = 1;
} else {
  const { run } = await import('./main.js');
  await run();
}
