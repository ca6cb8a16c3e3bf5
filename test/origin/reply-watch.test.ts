import { describe, expect, it } from 'vitest'
import { FLOWING_POLL_MS, IDLE_AFTER_MS, IDLE_POLL_MS, ReplyWatch } from '../../src/origin/reply-watch.js'
import { ProbePacing } from '../../src/origin/probe-pacing.js'

describe('reply watch (the exit\'s data-plane evidence)', () => {
  it('fires once when datagrams keep going to the origin and none come back', () => {
    const w = new ReplyWatch()
    let out = 0
    let back = 0
    const fired: number[] = []
    for (let t = 0; t < 2000; t += 10) {
      if (t % 20 === 0) out++
      if (t % 20 === 0 && t < 1000) back++
      if (w.observe(t, out, back, 60)) fired.push(t)
    }
    // The last reply came at 980: silent from there, 60 ms later it fires, and only once.
    expect(fired).toEqual([1040])
  })

  it('never fires for a one-way flow more than once, nor while the origin answers', () => {
    const w = new ReplyWatch()
    let fired = 0
    for (let t = 0; t < 10_000; t += 10) if (w.observe(t, t / 10, 0, 60)) fired++
    expect(fired).toBe(1)
    const answered = new ReplyWatch()
    for (let t = 0; t < 10_000; t += 10) expect(answered.observe(t, t / 10, Math.floor(t / 40), 60)).toBe(false)
  })

  it('needs requests after the last reply: an idle flow is not a failed leg', () => {
    const w = new ReplyWatch()
    w.observe(0, 10, 10, 60)
    for (let t = 10; t < 5000; t += 10) expect(w.observe(t, 11, 10, 60)).toBe(false)
  })
})

describe('early probes', () => {
  it('bring the next probe forward, at most once per interval, and not while a probe is within its deadline', () => {
    const p = new ProbePacing(250, 1000, () => 0.5)
    expect(p.due(0)).toBe(true)
    p.onReply(1)
    expect(p.expedite(10)).toBe(false) // the probe at 0 is still within its 30 ms deadline
    expect(p.expedite(40)).toBe(true)
    expect(p.due(40)).toBe(true)
    expect(p.expedite(100)).toBe(false) // one early probe per interval
    expect(p.due(100)).toBe(false)
    expect(p.expedite(300)).toBe(true)
  })
})

describe('reply watch: when it wants the counters read', () => {
  it('every 10 ms while data flows, every 100 ms once the service has been idle for a second', () => {
    const w = new ReplyWatch()
    expect(w.nextDueMs()).toBe(Infinity) // nothing read yet: no counters to watch
    w.observe(0, 5, 5, 60)
    expect(w.nextDueMs()).toBe(IDLE_POLL_MS) // the first read is where the counters stand, not traffic
    w.observe(100, 6, 6, 60)
    expect(w.nextDueMs()).toBe(100 + FLOWING_POLL_MS)
    w.observe(100 + IDLE_AFTER_MS - 10, 6, 6, 60)
    expect(w.nextDueMs()).toBe(100 + IDLE_AFTER_MS)
    w.observe(100 + IDLE_AFTER_MS, 6, 6, 60)
    expect(w.nextDueMs()).toBe(100 + IDLE_AFTER_MS + IDLE_POLL_MS)
  })

  it('keeps reading every 10 ms while requests wait for a reply (armed), whatever the quiet time', () => {
    const w = new ReplyWatch()
    w.observe(0, 0, 0, 1000)
    w.observe(10, 2, 0, 1000)
    // Armed (two requests, no reply): read every 10 ms until it fires at the quiet time.
    for (let t = 20; t < 1000; t += 10) {
      expect(w.observe(t, 2, 0, 1000)).toBe(false)
      expect(w.nextDueMs()).toBe(t + FLOWING_POLL_MS)
    }
    expect(w.observe(1000, 2, 0, 1000)).toBe(true)
    // Fired: nothing pending until a reply or more traffic; idle once a second has passed without either.
    expect(w.nextDueMs()).toBe(1000 + FLOWING_POLL_MS)
    w.observe(1010, 2, 0, 1000)
    expect(w.nextDueMs()).toBe(1010 + IDLE_POLL_MS)
  })
})
