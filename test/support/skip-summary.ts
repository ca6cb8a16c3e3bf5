/**
 * Groups skipped tests by the reason they were skipped, for the summary that
 * closes `npm test` (./skip-summary-reporter.ts). Pure, so it is tested alone.
 */

export interface SkippedTest {
  file: string
  reason: string | undefined
}

export interface SkipGroup {
  reason: string
  /** Skipped test count per file, files in first-seen order. */
  files: Map<string, number>
  count: number
}

export const NO_REASON = 'skipped without a recorded reason'

export function groupSkips(skipped: readonly SkippedTest[]): SkipGroup[] {
  const groups = new Map<string, SkipGroup>()
  for (const s of skipped) {
    const reason = s.reason ?? NO_REASON
    let g = groups.get(reason)
    if (!g) groups.set(reason, (g = { reason, files: new Map(), count: 0 }))
    g.files.set(s.file, (g.files.get(s.file) ?? 0) + 1)
    g.count++
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
}

export function formatSkipSummary(groups: readonly SkipGroup[]): string[] {
  const total = groups.reduce((n, g) => n + g.count, 0)
  if (total === 0) return []
  const lines = [`Skipped ${total} test${total === 1 ? '' : 's'} on this machine:`]
  for (const g of groups) {
    const where = [...g.files].map(([file, n]) => `${file} (${n})`).join(', ')
    lines.push(`  - ${g.reason}: ${where}`)
  }
  return lines
}

/** The plain closing line that any CI can read: "tests: N passed, N failed, N skipped". */
export function closingLine(passed: number, failed: number, skipped: number): string {
  return `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`
}
