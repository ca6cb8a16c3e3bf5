import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The namespace-building lab tests need root and run in `npm run test:lab`;
    // the lab's pure parts (scenario files, emulator core) run here too.
    exclude: ['test/lab/lab.test.ts', 'test/lab/topology.test.ts', 'test/lab/wan-backend.test.ts', 'test/lab/sites.test.ts', 'test/lab/relay-restart.test.ts', 'test/lab/live-routing.test.ts', 'test/lab/path-reports.test.ts', 'test/lab/cli-exec.test.ts', 'test/lab/network-changes.test.ts', 'test/lab/three-vm-guide.test.ts', '**/node_modules/**'],
    // The default report, then why tests were skipped here and a plain closing line.
    reporters: ['default', './test/support/skip-summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
