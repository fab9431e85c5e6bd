/** Run in each test file before its tests (vitest.config.ts: setupFiles). */
import { expect, vi } from 'vitest';
import { REWRITTEN_ELSEWHERE } from './rewritten-elsewhere.js';

const file = expect.getState().testPath ?? '';
if (REWRITTEN_ELSEWHERE.some((name) => file.endsWith(`/test/${name}`))) {
  vi.setConfig({ expect: { requireAssertions: false } });
}
