/**
 * A vitest reporter that runs after the default one and prints why tests were
 * skipped (root, a missing program and its Debian package, no native addon),
 * then a plain "tests: N passed, N failed, N skipped" line.
 */
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node'
import { closingLine, formatSkipSummary, groupSkips, type SkippedTest } from './skip-summary.js'

function skipReason(test: TestCase, note: string | undefined): string | undefined {
  if (note) return note
  let node: TestCase | TestSuite | TestModule = test
  while (node.type !== 'module') {
    const reason = node.meta().skipReason
    if (reason) return reason
    node = node.parent
  }
  return undefined
}

export default class SkipSummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped: SkippedTest[] = []
    let passed = 0
    let failed = 0
    for (const mod of modules) {
      for (const test of mod.children.allTests()) {
        const r = test.result()
        if (r.state === 'passed') passed++
        else if (r.state === 'failed') failed++
        else if (r.state === 'skipped' && test.options.mode !== 'todo') {
          skipped.push({ file: mod.relativeModuleId, reason: skipReason(test, r.note) })
        }
      }
    }
    const lines = formatSkipSummary(groupSkips(skipped))
    lines.push(closingLine(passed, failed, skipped.length))
    process.stdout.write(`\n${lines.join('\n')}\n`)
  }
}
