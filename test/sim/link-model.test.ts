import { describe, expect, it } from 'vitest'
import { DROP, decideRelease } from '../../src/io/link-model.js'
import type { Router, RouterInit, RouterMessage } from '../../src/route/types.js'
import { Partition } from '../../src/sim/partition.js'
import { streamRng } from '../../src/sim/prng.js'
import { idleRouter } from '../route/helpers/idle-router.js'

/**
 * The simulator keeps its links packed (a delay and a last release time per
 * directed pair in typed arrays, one loss and one jitter stream per sender)
 * and hands each message to the shared link model. This checks the packed
 * form against the model used on its own: for the same seed and sends,
 * every delivery time must be identical, and every loss the same.
 */
const NAMES = ['a', 'b', 'c']
const TICK_MS = 7
const END_MS = 3000

interface Sent { from: number; to: number; atMs: number; id: number }
interface Got { id: number; atMs: number }

function recordingRouters(sent: Sent[], got: Got[]): (init: RouterInit) => Router {
  let nextId = 0
  return (init) => {
    const self = NAMES.indexOf(init.self)
    const others = NAMES.filter((n) => n !== init.self)
    return idleRouter({
      tick(nowMs: number): RouterMessage[] {
        return others.map((to) => {
          const id = nextId++
          sent.push({ from: self, to: NAMES.indexOf(to), atMs: nowMs, id })
          const bytes = new Uint8Array(8)
          new DataView(bytes.buffer).setFloat64(0, id)
          return { to, kind: 'probe' as const, bytes }
        })
      },
      onProbe(nowMs: number, _from: string, bytes: Uint8Array): RouterMessage[] {
        got.push({ id: new DataView(bytes.buffer, bytes.byteOffset).getFloat64(0), atMs: nowMs })
        return []
      },
    })
  }
}

function run(seed: number, jitterMs: number, lossPct: number): { sent: Sent[]; got: Got[]; delayMs: Float64Array; partition: Partition } {
  const n = NAMES.length
  const delayMs = new Float64Array(n * n)
  const rnd = streamRng(seed, 'test-delays')
  for (let i = 0; i < n * n; i++) delayMs[i] = 5 + 40 * rnd.next()
  delayMs[2 * n + 0] = NaN // no link c -> a
  delayMs[1 * n + 2] = Infinity // b -> c cut
  const sent: Sent[] = []
  const got: Got[] = []
  const partition = new Partition({
    names: NAMES, delayMs, offsetMs: new Float64Array(n), owner: new Uint8Array(n), part: 0, seed,
    hopCostMs: 0, tickMs: TICK_MS, jitterMs, lossPct, freezeMessages: false, createRouter: recordingRouters(sent, got),
  })
  partition.start()
  partition.runUntil(END_MS)
  return { sent, got, delayMs, partition }
}

/** Delivery time per message id from the model alone, fed each sender's sends in order. */
function modelled(seed: number, jitterMs: number, lossPct: number, sent: Sent[], delayMs: Float64Array): { due: Map<number, number>; lost: number; noLink: number } {
  const n = NAMES.length
  const lossDraw = NAMES.map((_, i) => { const r = streamRng(seed, `loss:${i}`); return () => r.next() })
  const jitterDraw = NAMES.map((_, i) => { const r = streamRng(seed, `jitter:${i}`); return () => r.next() })
  const last = new Float64Array(n * n)
  const due = new Map<number, number>()
  let lost = 0
  let noLink = 0
  for (const s of sent) {
    const k = s.from * n + s.to
    const d = delayMs[k]
    if (Number.isNaN(d) || d === Infinity) {
      noLink++
      continue
    }
    const at = decideRelease({ delayMs: d, jitterMs, lossPct }, s.atMs, last[k], lossDraw[s.from], jitterDraw[s.from])
    if (at === DROP) lost++
    else due.set(s.id, (last[k] = at))
  }
  return { due, lost, noLink }
}

describe('simulator links against the shared link model', () => {
  for (const [jitterMs, lossPct] of [[0, 0], [3, 0], [0, 5], [2.5, 10]] as const) {
    it(`gives the model's delivery time to every message and loses the same ones (jitter ${jitterMs} ms, loss ${lossPct}%)`, () => {
      for (const seed of [1, 2]) {
        const { sent, got, delayMs, partition } = run(seed, jitterMs, lossPct)
        const want = modelled(seed, jitterMs, lossPct, sent, delayMs)
        // Messages still in flight at the end were never delivered: compare those that were.
        const delivered = new Map(got.map((g) => [g.id, g.atMs]))
        for (const [id, atMs] of delivered) expect(atMs).toBe(want.due.get(id))
        for (const [id, atMs] of want.due) if (atMs < END_MS) expect(delivered.get(id)).toBe(atMs)
        expect(partition.counters.dropped_no_link).toBe(want.noLink)
        expect(partition.counters.lost).toBe(want.lost)
        if (lossPct > 0) expect(want.lost).toBeGreaterThan(0)
        expect(got.length).toBeGreaterThan(500)
      }
    })
  }
})
