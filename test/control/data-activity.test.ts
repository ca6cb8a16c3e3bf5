import { describe, expect, it } from 'vitest'
import { DATA_ACTIVITY_MIN_PACKETS, DATA_ACTIVITY_SAMPLE_MS, DataActivity } from '../../src/control/data-activity.js'

describe('data activity from traffic counters', () => {
  const peer = (id: string, packetsOut: number) => ({ id, traffic: { packetsOut } })

  function activeAfter(d: DataActivity, nowMs: number, peers: { id: string; traffic: { packetsOut: number } }[]): string[] {
    const out: string[] = []
    if (d.due(nowMs)) d.sample(nowMs, peers, (p) => out.push(p))
    return out
  }

  it('marks a peer active when it got DATA_ACTIVITY_MIN_PACKETS packets beyond what the control plane sent it', () => {
    const d = new DataActivity()
    expect(activeAfter(d, 0, [peer('a', 100), peer('b', 100)])).toEqual([])
    for (let k = 0; k < 10; k++) d.controlSent('b')
    expect(activeAfter(d, DATA_ACTIVITY_SAMPLE_MS, [peer('a', 100 + DATA_ACTIVITY_MIN_PACKETS), peer('b', 110 + DATA_ACTIVITY_MIN_PACKETS - 1)])).toEqual(['a'])
  })

  it('samples at most every DATA_ACTIVITY_SAMPLE_MS', () => {
    const d = new DataActivity()
    activeAfter(d, 0, [peer('a', 0)])
    expect(d.due(DATA_ACTIVITY_SAMPLE_MS - 1)).toBe(false)
    expect(d.due(DATA_ACTIVITY_SAMPLE_MS)).toBe(true)
  })

  it('does not count probes and floods as data (an idle peer stays normal)', () => {
    const d = new DataActivity()
    let out = 0
    activeAfter(d, 0, [peer('a', out)])
    for (let t = DATA_ACTIVITY_SAMPLE_MS; t < 10_000; t += DATA_ACTIVITY_SAMPLE_MS) {
      for (let k = 0; k < 8; k++) {
        d.controlSent('a')
        out++
      }
      expect(activeAfter(d, t, [peer('a', out)])).toEqual([])
    }
  })
})
