import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // Suites that build the full shared lists (1.7 M entries) or start servers need room on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The schoolgate command the tests spawn runs src/ through tsx, so it tests the sources as
    // they are; only test/cli/compiled.test.ts runs the compiled dist/ (in a copy of the project).
    // One proxy process (proxy.workers) unless a test is about workers: the default is a process per core.
    env: { SCHOOLGATE_FROM_SOURCE: '1', SCHOOLGATE_DEFAULT_WORKERS: '1' },
    maxWorkers: 2,
  },
});
