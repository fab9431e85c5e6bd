/**
 * The one way a test skips: for a prerequisite this machine lacks (PostgreSQL 18, the zstd and
 * age programs, an old Node). Locally the tests that need it are skipped, the reason printed; under
 * CI=true (CI sets it) the same absence is a failing test naming it, so CI cannot pass without
 * running them. test/unit/suite.test.ts holds every test file to this.
 */
import { it } from 'vitest';

/** What this test file was already told is missing: said (or failed) once however often asked. */
const said = new Set<string>();

/**
 * `missing` says what is absent and how to get it, or is undefined when all is there. Returns
 * whether the tests that need it are to be skipped: `describe.skipIf(requireInCI(missing))(…)`.
 */
export function requireInCI(missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (said.has(missing)) return true;
  said.add(missing);
  if (process.env.CI === 'true') {
    it(`has its prerequisite: ${missing}`, () => {
      throw new Error(`CI=true, and a prerequisite is missing: ${missing}`);
    });
  } else {
    console.warn(`skipped: ${missing} (under CI=true this fails)`);
  }
  return true;
}
