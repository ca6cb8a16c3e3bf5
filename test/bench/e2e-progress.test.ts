import { describe, expect, it } from 'vitest'
import { createBenchProgress, plannedSteps, type StepPlanOptions } from '../../bench/e2e/progress-plan.js'

const DEFAULTS: StepPlanOptions = {
  systems: ['kernel', 'node_forwarder', 'wireguard_go', 'overpass', 'overpass_transit'],
  same: true, transit: true, fixedOnly: false, flows: 10_000, rounds: 3, interleavedOnly: false,
  workersCurve: [], hop: false, hopRounds: 3, hopSystems: ['kernel', 'node_forwarder', 'overpass'],
}

describe('bench:e2e progress', () => {
  it('plans one step per fixed-rate run, search, flows check, transit ladder and the interleaved rounds', () => {
    // kernel: 2 placements x 3 rates + search; node_forwarder and wireguard_go: + transit search;
    // overpass: + transit search + flows; overpass_transit: its ladder; then the interleaved rounds.
    expect(plannedSteps(DEFAULTS)).toBe(7 + 8 + 8 + 9 + 1 + 1)
    expect(plannedSteps({ ...DEFAULTS, systems: ['overpass'], same: false, fixedOnly: true, flows: 0 })).toBe(3)
    expect(plannedSteps({ ...DEFAULTS, interleavedOnly: true })).toBe(1)
  })

  it('plans one step per hop system per round, the kernel floor always included', () => {
    expect(plannedSteps({ ...DEFAULTS, hop: true, hopSystems: ['overpass'], hopRounds: 2 })).toBe(4)
  })

  it('prints plain progress lines between the log lines when not a terminal', () => {
    const lines: string[] = []
    const progress: string[] = []
    let now = 0
    const p = createBenchProgress(4, (l) => lines.push(l), { write: (t) => progress.push(t), isTTY: false }, () => now)
    now = 5000
    for (const what of ['a', 'b', 'c', 'd']) {
      p.begin(what)
      p.log(`${what} measured`)
      p.done()
    }
    p.finish(true)
    expect(lines).toEqual(['a measured', 'b measured', 'c measured', 'd measured'])
    expect(progress).toEqual(['bench:e2e: 0% step 1/4: a\n', 'bench:e2e: 25% step 2/4: a\n', 'bench:e2e: 50% step 3/4: b\n', 'bench:e2e: 75% step 4/4: c\n', 'bench:e2e: 100% step 4/4: d\n'])
  })

  it('keeps its bar below the log lines on a terminal', () => {
    const all: string[] = []
    let now = 0
    const p = createBenchProgress(2, (l) => all.push(`${l}\n`), { write: (t) => all.push(t), isTTY: true }, () => now)
    now = 5000
    p.begin('overpass split 1000 pps')
    now += 200
    p.log('  split 1000 pps: rtt p50 80 us')
    p.finish(true)
    expect(all).toEqual([
      `\r\x1b[Kbench:e2e [${'.'.repeat(30)}]   0% step 1/2: overpass split 1000 pps`,
      '\r\x1b[K',
      '  split 1000 pps: rtt p50 80 us\n',
      `\r\x1b[Kbench:e2e [${'.'.repeat(30)}]   0% step 1/2: overpass split 1000 pps`,
      '\r\x1b[K',
    ])
  })
})
