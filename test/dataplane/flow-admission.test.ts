import { describe, expect, it } from 'vitest'
import { FlowAdmission, exitSocketBudget, prefixFlowLimit, sourcePrefix, DEFAULT_EXIT_SOCKET_BUDGET, RESERVED_FDS, type AdmittedFlow } from '../../src/dataplane/flow-admission.js'

interface F extends AdmittedFlow {
  name: string
}

function table(limit: number, prefixLimit?: number) {
  const live = new Set<F>()
  const gaveUp: string[] = []
  const a: FlowAdmission<F> = new FlowAdmission<F>(
    limit,
    (f) => {
      live.delete(f)
      gaveUp.push(f.name)
      a.removed(f)
    },
    prefixLimit,
  )
  const add = (name: string, prefix?: string): F | string => {
    const room = a.admit(prefix)
    if (typeof room !== 'number') return room
    const f: F = { name, replied: false, prefix }
    live.add(f)
    a.added(f)
    return f
  }
  return { a, live, gaveUp, add }
}

describe('flow admission', () => {
  it('counts IPv4 by /24 (IPv4-mapped IPv6 too) and IPv6 by /56', () => {
    expect(sourcePrefix('192.0.2.77')).toBe('192.0.2.0/24')
    expect(sourcePrefix('::ffff:192.0.2.1')).toBe('192.0.2.0/24')
    expect(sourcePrefix('2001:db8:aa:bb01::1')).toBe(sourcePrefix('2001:db8:aa:bbff:1::9'))
    expect(sourcePrefix('2001:db8:aa:bb01::1')).not.toBe(sourcePrefix('2001:db8:aa:cc01::1'))
    expect(sourcePrefix('not an address')).toBe('not an address')
  })

  it('derives the per-prefix default from max_flows, never below 256 or above the table', () => {
    expect(prefixFlowLimit(65_536)).toBe(4_096)
    expect(prefixFlowLimit(1_000)).toBe(256)
    expect(prefixFlowLimit(10)).toBe(10)
  })

  it('fits the exit socket budget to the open-file limit, per worker', () => {
    expect(exitSocketBudget(undefined, 1)).toBe(DEFAULT_EXIT_SOCKET_BUDGET)
    expect(exitSocketBudget(RESERVED_FDS + 4_000, 2)).toBe(2_000)
    expect(exitSocketBudget(1_048_576, 1)).toBe(DEFAULT_EXIT_SOCKET_BUDGET)
    expect(exitSocketBudget(100, 1)).toBe(1)
  })

  it('gives up the oldest unreplied flow when full, never a replied one, and refuses when all replied', () => {
    const t = table(3)
    const f1 = t.add('1') as F
    t.add('2')
    t.add('3')
    t.a.replied(f1)
    t.add('4')
    expect(t.gaveUp).toEqual(['2'])
    t.add('5')
    expect(t.gaveUp).toEqual(['2', '3'])
    for (const f of t.live) t.a.replied(f)
    expect(t.add('6')).toBe('flow_limit')
    expect([...t.live].map((f) => f.name).sort()).toEqual(['1', '4', '5'])
  })

  it('a full prefix gives up its own oldest unreplied flow, and refuses once all of its flows replied', () => {
    const t = table(100, 2)
    const a1 = t.add('a1', 'A') as F
    t.add('b1', 'B')
    t.add('a2', 'A')
    t.add('a3', 'A')
    expect(t.gaveUp).toEqual(['a1'])
    for (const f of t.live) t.a.replied(f)
    expect(t.add('a4', 'A')).toBe('prefix_flow_limit')
    expect(typeof t.add('c1', 'C')).toBe('object')
    expect(a1.replied).toBe(false)
  })

  it('gives unreplied flows a short idle timeout', () => {
    const t = table(10)
    const f = t.add('x') as F
    expect(t.a.idleTimeoutMs(f, 30_000)).toBe(5_000)
    expect(t.a.idleTimeoutMs(f, 2_000)).toBe(2_000)
    t.a.replied(f)
    expect(t.a.idleTimeoutMs(f, 30_000)).toBe(30_000)
  })
})
