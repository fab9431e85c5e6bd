/** The checks a PostgreSQL backup's restore-test runs in the restored database. */
import type { AnyCheck } from '../../core/settings.js';

export const postgresChecks = {
  forms: ['count', 'sql'] as const,
  refusal: (check: AnyCheck) =>
    `"${check.text}" checks a Redis key; a PostgreSQL backup takes "schema.table >= N" or a SQL query returning one boolean`,
};
