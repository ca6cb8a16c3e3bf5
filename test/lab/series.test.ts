/** The per-packet series of a lab flow and the figures read from them around an event. */
import { describe, expect, it } from 'vitest'
import { buildSeries, countPathChanges, crossesAny, leftLinksAt, reentries, delayInWindow, deliveries, directionLoss, lostInWindow, maxGapAround, type ClientRecord, type OriginRecord } from '../../lab/run/series.js'
import type { PathSample } from '../../lab/run/paths.js'
import { eventFigures, eventMoments } from '../../lab/run/event-figures.js'
import { parseScenario } from '../../lab/scenario/index.js'

const T0 = 1_000_000

/**
 * A 50 Hz flow of `n` packets: forward delay 20 ms (40 ms from 1 s on),
 * reverse 30 ms; seqs in `lostOut` never reach the origin, seqs in
 * `lostBack` reach it but their reply is lost, seqs in `twice` reach it twice.
 */
function flow(n: number, lostOut: Set<number>, lostBack: Set<number>, twice = new Set<number>()): { origin: OriginRecord[]; client: ClientRecord[] } {
  const origin: OriginRecord[] = []
  const client: ClientRecord[] = []
  for (let seq = 0; seq < n; seq++) {
    const sent = seq * 20
    const fwd = sent >= 1000 ? 40 : 20
    if (lostOut.has(seq)) continue
    origin.push([seq, T0 + sent, T0 + sent + fwd])
    if (twice.has(seq)) origin.push([seq, T0 + sent, T0 + sent + fwd + 5])
    if (!lostBack.has(seq)) client.push([seq, sent, fwd, 30, sent + fwd + 30])
  }
  return { origin, client }
}

describe('flow series', () => {
  it('tells loss on the way out from loss on the way back, and counts duplicates at the origin and the client', () => {
    const lostOut = new Set([10, 11, 12, 13])
    const lostBack = new Set([50, 51])
    const { origin, client } = flow(100, lostOut, lostBack, new Set([70]))
    client.push(client[client.length - 1])
    const s = buildSeries(100, origin, client, T0)
    expect(s.rows).toHaveLength(96)
    expect(s.rows.find((r) => r[0] === 50)).toEqual([50, 1000, 40, null, 1040, null])
    expect(s.rows.find((r) => r[0] === 60)).toEqual([60, 1200, 40, 30, 1240, 1270])
    expect(directionLoss(s)).toEqual({ forward_loss_pct: 4, reverse_loss_pct: 2.083, origin_received: 96, origin_duplicates: 1, client_duplicates: 1 })
  })

  it('gives p50/p99 of the packets sent in a window, per direction', () => {
    const { origin, client } = flow(100, new Set(), new Set())
    const s = buildSeries(100, origin, client, T0)
    expect(delayInWindow(s, 'forward', 0, 1000)).toEqual({ count: 50, p50_ms: 20, p99_ms: 20 })
    expect(delayInWindow(s, 'forward', 1000, 2000)).toEqual({ count: 50, p50_ms: 40, p99_ms: 40 })
    expect(delayInWindow(s, 'reverse', 900, 1100).count).toBe(10)
    expect(delayInWindow(s, 'forward', 5000, 6000).count).toBe(0)
  })

  it('counts the packets of a window lost each way, placing lost ones by their seq', () => {
    const { origin, client } = flow(100, new Set([0, 1, 30, 31, 32, 99]), new Set([40, 41]))
    const s = buildSeries(100, origin, client, T0)
    // Seqs 30-32 were sent at 600-640 ms, 40-41 at 800-820 ms; 0-1 and 99 at the ends.
    expect(lostInWindow(s, 600, 700)).toEqual({ forward: 3, reverse: 0 })
    expect(lostInWindow(s, 700, 900)).toEqual({ forward: 0, reverse: 2 })
    expect(lostInWindow(s, 0, 2000)).toEqual({ forward: 6, reverse: 2 })
    expect(lostInWindow(s, 0, 30)).toEqual({ forward: 2, reverse: 0 })
  })

  it('finds the longest run without delivery around an event, also one still open', () => {
    const t = [0, 20, 40, 60, 580, 600, 620, 2000]
    expect(maxGapAround(t, 50, 610)).toEqual({ gap_ms: 520, from_ms: 60, to_ms: 580, open: false })
    // A gap that began before the window counts whole.
    expect(maxGapAround(t, 300, 400).gap_ms).toBe(520)
    // The gap before 2000 overlaps a window that ends before 2000 is delivered.
    expect(maxGapAround(t, 700, 1500)).toEqual({ gap_ms: 1380, from_ms: 620, to_ms: 2000, open: false })
    expect(maxGapAround([0, 20], 10, 500)).toEqual({ gap_ms: 480, from_ms: 20, to_ms: 500, open: true })
    expect(maxGapAround([], 10, 500)).toEqual({ gap_ms: 490, from_ms: 10, to_ms: 500, open: true })
  })

  it('reads delivery times at the origin and back at the client', () => {
    const { origin, client } = flow(3, new Set(), new Set([1]))
    const s = buildSeries(3, origin, client, T0)
    expect(deliveries(s, 'origin')).toEqual([20, 40, 60])
    expect(deliveries(s, 'client')).toEqual([50, 90])
  })
})

describe('path changes', () => {
  const p = (t: number, forward: string, reply: string): PathSample => ({ t_ms: t, forward: forward ? forward.split('>') : [], reply: reply ? reply.split('>') : [] })

  it('counts each change per direction from traffic start, the path in force then being the baseline', () => {
    const paths = [p(-3000, 'a>c', 'c>a'), p(-1000, 'a>b>c', 'c>a'), p(1200, 'a>c', 'c>b>a'), p(3000, 'a>b>c', 'c>b>a'), p(5000, 'a>b>c', 'c>a')]
    expect(countPathChanges(paths)).toEqual({ forward: 2, reply: 2 })
    expect(countPathChanges(paths, -5000)).toEqual({ forward: 3, reply: 2 })
  })

  it('skips samples without a path: A, none, A is no change; A, none, B is one', () => {
    expect(countPathChanges([p(0, 'a>c', 'c>a'), p(100, '', ''), p(200, 'a>c', 'c>a')])).toEqual({ forward: 0, reply: 0 })
    expect(countPathChanges([p(0, 'a>c', 'c>a'), p(100, '', ''), p(200, 'a>b>c', 'c>a')])).toEqual({ forward: 1, reply: 0 })
  })
})

describe('figures around events', () => {
  const scenario = parseScenario(`
name: t
pops: [a, b, c]
clients: [{ name: ca, pop: a }]
origins: [{ name: oc, wan_pop: c, exits: [c] }]
wan:
  links:
    - { between: [a, b], delay: 10ms }
    - { between: [b, c], delay: 10ms }
    - { between: [a, c], delay: 30ms }
events:
  - { at: 1s, action: cut, between: [a, b] }
  - { at: 1.5s, action: kill, pop: b }
  - { at: 1.5s, action: degrade, from: a, to: c, factor: 2 }
  - { at: 5s, action: start, pop: b }
traffic:
  flows: [{ name: f, client: ca, origin: oc, profile: voip, duration: 2s }]
`)

  it('groups the events by time, link and relay events alike', () => {
    expect(eventMoments(scenario)).toEqual([
      { at_ms: 1000, what: 'cut a>b, cut b>a' },
      { at_ms: 1500, what: 'degrade x2 a>c, kill b' },
      { at_ms: 5000, what: 'start b' },
    ])
  })

  it('reads gap, loss and delay in the window from each moment to the next, within the flow', () => {
    // Seqs 50-54 (1000-1080 ms) lost on the way out; forward delay 40 ms from 1 s on.
    const { origin, client } = flow(100, new Set([50, 51, 52, 53, 54]), new Set())
    const figures = eventFigures(buildSeries(100, origin, client, T0), eventMoments(scenario), 2000)
    expect(figures).toHaveLength(2)
    expect(figures[0]).toMatchObject({ at_ms: 1000, window_ms: [1000, 1500], lost_forward: 5, lost_reverse: 0, forward: { count: 20, p50_ms: 40 } })
    // Replies of seq 49 (sent 980) arrive at 1030, of seq 55 (1100) at 1170: 140 ms without a reply.
    expect(figures[0].gap_ms).toBe(140)
    expect(figures[1]).toMatchObject({ window_ms: [1500, 2000], lost_forward: 0, gap_ms: 20 })
  })
})

describe('leaving and re-entering links', () => {
  const p = (t: number, forward: string, reply: string): PathSample => ({ t_ms: t, forward: forward ? forward.split('>') : [], reply: reply ? reply.split('>') : [] })
  const link = [['dal', 'bos']] as const

  it('sees a link crossed in either direction', () => {
    expect(crossesAny(['lax', 'dal', 'bos'], link)).toBe(true)
    expect(crossesAny(['bos', 'dal', 'lax'], link)).toBe(true)
    expect(crossesAny(['lax', 'bos'], link)).toBe(false)
  })

  it('finds when each direction left a link after an event, or that it never did', () => {
    const paths = [p(-2000, 'lax>dal>bos', 'bos>dal>lax'), p(4500, 'lax>atl>bos', 'bos>dal>lax'), p(5000, '', ''), p(9000, 'lax>atl>bos', 'bos>dal>lax')]
    expect(leftLinksAt(paths, 'forward', 3000, link)).toBe(4500)
    expect(leftLinksAt(paths, 'reply', 3000, link)).toBeNull()
    expect(leftLinksAt(paths, 'forward', 6000, link)).toBe(6000)
  })

  it('counts the returns onto a link after an event', () => {
    const paths = [p(0, 'lax>dal>bos', 'bos>lax'), p(2500, 'lax>atl>bos', 'bos>lax'), p(4200, 'lax>dal>bos', 'bos>lax'), p(6300, 'lax>atl>bos', 'bos>lax'), p(6400, '', ''), p(8300, 'lax>dal>bos', 'bos>lax')]
    expect(reentries(paths, 'forward', 2000, [['lax', 'dal']])).toBe(2)
    expect(reentries(paths, 'forward', 5000, [['lax', 'dal']])).toBe(1)
    expect(reentries(paths, 'reply', 0, [['lax', 'dal']])).toBe(0)
  })
})
