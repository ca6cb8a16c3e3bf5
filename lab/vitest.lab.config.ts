import { defineConfig } from 'vitest/config'

/** The lab suite: root-only tests in test/lab that build network namespaces. */
export default defineConfig({
  test: {
    include: ['test/lab/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default', './test/support/skip-summary-reporter.ts'],
  },
})
