import { describe, expect, it } from 'vitest'
import { NO_REASON, closingLine, formatSkipSummary, groupSkips } from './skip-summary.js'

describe('skip summary', () => {
  it('groups skipped tests by reason, most first, counting per file', () => {
    const groups = groupSkips([
      { file: 'test/a.test.ts', reason: 'ping is not installed (apt-get install iputils-ping)' },
      { file: 'test/a.test.ts', reason: 'ping is not installed (apt-get install iputils-ping)' },
      { file: 'test/b.test.ts', reason: 'ping is not installed (apt-get install iputils-ping)' },
      { file: 'test/c.test.ts', reason: undefined },
    ])
    expect(groups.map((g) => [g.reason, g.count, [...g.files]])).toEqual([
      ['ping is not installed (apt-get install iputils-ping)', 3, [['test/a.test.ts', 2], ['test/b.test.ts', 1]]],
      [NO_REASON, 1, [['test/c.test.ts', 1]]],
    ])
  })

  it('prints one line per reason with the files, and nothing when nothing was skipped', () => {
    expect(formatSkipSummary([])).toEqual([])
    const lines = formatSkipSummary(groupSkips([{ file: 'test/x.test.ts', reason: 'it needs root (network namespaces, TUN)' }]))
    expect(lines).toEqual(['Skipped 1 test on this machine:', '  - it needs root (network namespaces, TUN): test/x.test.ts (1)'])
  })

  it('closes with the plain "N passed, N failed" line that CI reads', () => {
    expect(closingLine(752, 0, 3)).toBe('tests: 752 passed, 0 failed, 3 skipped')
    expect(closingLine(1, 2, 0)).toMatch(/^\w+: \d+ passed, \d+ failed, \d+ skipped$/)
  })
})
