import { expect, it } from 'vitest'
import { describeIf } from '../support/requirements.js'
import type { FakeNet } from './helpers/fake-net.js'
import { burstyLink, detour, fwdPath, lossyLink, observe, replyPath, runWithCall } from './helpers/loss-scenario.js'

/**
 * The departure distribution of the fake-clock model (docs/routing.md, "The
 * fast loss detector"): a measurement, not a check, so it runs only when
 * LOSS_DEPARTURE_TRIALS is set (`LOSS_DEPARTURE_TRIALS=400 npx vitest run
 * test/route/loss-departure-distribution.test.ts`; ~0.1 s a trial).
 * LOSS_DEPARTURE_FIRST_SEED moves the seeds.
 */
const trials = Number(process.env.LOSS_DEPARTURE_TRIALS ?? 0)
const firstSeed = Number(process.env.LOSS_DEPARTURE_FIRST_SEED ?? 1)

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]
}

function summary(name: string, xs: number[]): string {
  const over = (ms: number) => xs.filter((x) => x > ms).length
  return `${name}: p50 ${quantile(xs, 0.5)} p95 ${quantile(xs, 0.95)} p99 ${quantile(xs, 0.99)} max ${Math.max(...xs)} ms; > 2 s ${over(2000)}, > 2.5 s ${over(2500)}, > 3 s ${over(3000)} of ${xs.length}`
}

describeIf(trials > 0 ? undefined : 'a measurement: runs with LOSS_DEPARTURE_TRIALS set', 'loss departure distribution', () => {
  const models: [string, (net: FakeNet, seed: number) => void][] = [
    ['independent 5%', (net, seed) => lossyLink(net, 'i', 'a', 0.05, seed)],
    ['bursty 5%, bursts of 4', (net, seed) => burstyLink(net, 'i', 'a', 0.05, 4, seed)],
    // The lab's lossy link is the transit's link to the exit: the reply's 'down' is then flooded over it.
    ['bursty 5% on a-e', (net, seed) => burstyLink(net, 'a', 'e', 0.05, 4, seed)],
  ]
  for (const [name, degrade] of models) {
    it(`measures both directions' departures from a link starting ${name}`, () => {
      const fwd: number[] = []
      const reply: number[] = []
      const tripFwd: number[] = []
      const tripReply: number[] = []
      for (let seed = firstSeed; seed < firstSeed + trials; seed++) {
        const net = detour(seed)
        runWithCall(net, 6000)
        if (fwdPath(net).join() !== 'i,a,e' || replyPath(net).join() !== 'e,a,i') continue
        degrade(net, seed)
        const trips = (relay: string) => net.router(relay).counters?.()?.edge_loss_trips ?? 0
        const before = { a: trips('a'), i: trips('i') }
        const tripAt = { a: Infinity, i: Infinity }
        const r: { forwardLeftMs: number; replyLeftMs: number } = { forwardLeftMs: Infinity, replyLeftMs: Infinity }
        for (let t = 0; t < 8000 && (r.forwardLeftMs === Infinity || r.replyLeftMs === Infinity); t += 10) {
          const step = observe(net, 10)
          if (step.forwardLeftMs !== Infinity && r.forwardLeftMs === Infinity) r.forwardLeftMs = t + 10
          if (step.replyLeftMs !== Infinity && r.replyLeftMs === Infinity) r.replyLeftMs = t + 10
          for (const x of ['a', 'i'] as const) if (tripAt[x] === Infinity && trips(x) > before[x]) tripAt[x] = t + 10
        }
        fwd.push(r.forwardLeftMs)
        reply.push(r.replyLeftMs)
        tripFwd.push(tripAt.a)
        tripReply.push(tripAt.i)
      }
      console.log(`${name}, seeds ${firstSeed}..${firstSeed + trials - 1}\n${summary('forward', fwd)}\n${summary('reply', reply)}\n${summary('i>a tripped', tripFwd)}\n${summary('a>i tripped', tripReply)}`)
      expect(fwd.length).toBeGreaterThan(0)
    }, 3_600_000)
  }
})
