import { describe, expect, it } from 'vitest'
import {
  decodeErrorEstimate,
  decodeReflectorPacket,
  decodeSenderPacket,
  encodeErrorEstimate,
  encodeReflectorPacket,
  encodeSenderPacket,
  errorEstimateMs,
  ntpDiffMs,
  R_HEADER_BYTES,
  R_OFF_RX_TIMESTAMP,
  R_OFF_SENDER_TTL,
  readNtp,
  TwampReflectorCore,
  TwampSender,
  UNSYNCED_1MS,
  writeNtp,
} from '../../src/origin/index.js'

describe('NTP timestamps', () => {
  it('round-trip to well under a microsecond', () => {
    const v = new DataView(new ArrayBuffer(8))
    for (const ms of [0, 1.5, 123456.789, 3_900_000_000_123.25]) {
      writeNtp(v, 0, ms)
      expect(Math.abs(readNtp(v, 0) - ms)).toBeLessThan(1e-3)
    }
  })

  it('take differences across the era rollover', () => {
    const era = 4294967296 * 1000
    expect(ntpDiffMs(5, era - 5)).toBeCloseTo(10, 6)
    expect(ntpDiffMs(era - 5, 5)).toBeCloseTo(-10, 6)
  })

  it('encode the error estimate fields', () => {
    const v = encodeErrorEstimate(UNSYNCED_1MS)
    expect(decodeErrorEstimate(v)).toEqual(UNSYNCED_1MS)
    expect(errorEstimateMs(UNSYNCED_1MS)).toBeCloseTo(0.977, 3)
    expect(encodeErrorEstimate({ synced: true, scale: 0, multiplier: 1 })).toBe(0x8001)
  })
})

describe('TWAMP codec', () => {
  it('round-trips a sender packet with zero padding', () => {
    const buf = new Uint8Array(64).fill(0xee)
    const len = encodeSenderPacket(buf, { seq: 0xfffffffe, timestampMs: 1000.25, errorEstimate: 0x0101 }, 60)
    expect(len).toBe(60)
    const p = decodeSenderPacket(buf, len)!
    expect(p.seq).toBe(0xfffffffe)
    expect(p.timestampMs).toBeCloseTo(1000.25, 6)
    expect(p.errorEstimate).toBe(0x0101)
    expect(buf.subarray(14, 60).every((b) => b === 0)).toBe(true)
    expect(buf[60]).toBe(0xee)
  })

  it('round-trips a reflector packet at the named offsets', () => {
    const buf = new Uint8Array(64)
    const p = { seq: 7, timestampMs: 50.5, errorEstimate: 0x1601, rxTimestampMs: 50.25, senderSeq: 7, senderTimestampMs: 10, senderErrorEstimate: 0x0001, senderTtl: 64 }
    encodeReflectorPacket(buf, p, 64)
    const d = decodeReflectorPacket(buf)!
    expect(d).toMatchObject({ seq: 7, errorEstimate: 0x1601, senderSeq: 7, senderErrorEstimate: 1, senderTtl: 64, length: 64 })
    expect(d.timestampMs).toBeCloseTo(50.5, 6)
    expect(d.rxTimestampMs).toBeCloseTo(50.25, 6)
    expect(d.senderTimestampMs).toBeCloseTo(10, 6)
    expect(buf[R_OFF_SENDER_TTL]).toBe(64)
    expect(readNtp(new DataView(buf.buffer), R_OFF_RX_TIMESTAMP)).toBeCloseTo(50.25, 6)
  })

  it('rejects truncated packets', () => {
    expect(decodeSenderPacket(new Uint8Array(13))).toBeUndefined()
    expect(decodeReflectorPacket(new Uint8Array(R_HEADER_BYTES - 1))).toBeUndefined()
    expect(decodeReflectorPacket(new Uint8Array(64), 65)).toBeUndefined()
  })
})

describe('TwampReflectorCore', () => {
  const request = (len: number, errEst = 0x0001) => {
    const b = new Uint8Array(len)
    encodeSenderPacket(b, { seq: 42, timestampMs: 1234.5, errorEstimate: errEst }, len)
    return b
  }

  it('answers with the same size, copying seq, sender stamp and error estimate', () => {
    const core = new TwampReflectorCore()
    const out = new Uint8Array(1500)
    const len = core.reflect(request(64), 64, 9000, 9000.5, 255, out)
    expect(len).toBe(64)
    const r = decodeReflectorPacket(out, len)!
    expect(r).toMatchObject({ seq: 42, senderSeq: 42, senderErrorEstimate: 1, senderTtl: 255 })
    expect(r.senderTimestampMs).toBeCloseTo(1234.5, 6)
    expect(r.rxTimestampMs).toBeCloseTo(9000, 6)
    expect(r.timestampMs).toBeCloseTo(9000.5, 6)
    expect(core.counters.reflected).toBe(1)
  })

  it('drops requests a reply would outgrow, oversized ones and zero error multipliers', () => {
    const core = new TwampReflectorCore()
    const out = new Uint8Array(2000)
    expect(core.reflect(request(14), 14, 0, 0, 255, out)).toBe(0)
    expect(core.reflect(request(40), 40, 0, 0, 255, out)).toBe(0)
    expect(core.reflect(new Uint8Array(1600).fill(1), 1600, 0, 0, 255, out)).toBe(0)
    expect(core.reflect(request(64, 0x0100), 64, 0, 0, 255, out)).toBe(0)
    expect(core.counters).toMatchObject({ reflected: 0, too_short: 2, too_long: 1, bad_error_estimate: 1, mbz_nonzero: 0 })
  })
})

describe('TwampSender', () => {
  // Reflector clock runs 3 h ahead of the sender's; forward path 7 ms, reverse 11 ms, 0.5 ms hold.
  const OFFSET_MS = 3 * 3600_000
  const reflect = (core: TwampReflectorCore, pkt: Uint8Array, senderTxMs: number) => {
    const out = new Uint8Array(pkt.length)
    const rx = senderTxMs + 7 + OFFSET_MS
    core.reflect(pkt, pkt.length, rx, rx + 0.5, 255, out)
    return out
  }

  it('turns a reply into forward/reverse pseudo delays and an RTT free of the offset', () => {
    const s = new TwampSender({ service: 'game', random: () => 0.5 })
    const core = new TwampReflectorCore()
    const { packet } = s.tick(1000)
    const reply = reflect(core, packet!, 1000)
    const sample = s.onReply(1000 + 18.5, reply)!
    expect(sample.method).toBe('twamp')
    expect(sample.service).toBe('game')
    expect(sample.forwardPseudoMs).toBeCloseTo(7 + OFFSET_MS, 3)
    expect(sample.reversePseudoMs).toBeCloseTo(11 - OFFSET_MS, 3)
    expect(sample.rttMs).toBeCloseTo(18, 3)
    // The pseudo delays add up to the RTT without the reflector's hold time.
    expect(sample.forwardPseudoMs! + sample.reversePseudoMs!).toBeCloseTo(18, 3)
  })

  it('says when a missed packet will be lost: a caller sleeping until nextDueMs reports the loss on time', () => {
    const s = new TwampSender({ service: 'g', intervalMs: 2000, lossTimeoutMs: 1000, random: () => 0.5 })
    const core = new TwampReflectorCore()
    const first = s.tick(0).packet!
    s.onReply(5, reflect(core, first, 0)) // miss deadline now 30 ms
    // The origin goes silent: a packet and two confirmations, each missed 30 ms after it left.
    for (const t of [2000, 2030, 2060]) expect(s.tick(t).packet).toBeDefined()
    expect(s.tick(2090).losses.map((l) => l.missed)).toEqual([true])
    // Nothing to send before ~4060; the packet of 2000 is lost at 3000.
    expect(s.nextDueMs()).toBe(3000)
    expect(s.tick(2999).losses).toEqual([])
    expect(s.tick(3000).losses.map((l) => l.lost)).toEqual([true])
    expect(s.nextDueMs()).toBe(3030)
  })

  it('sends at the interval and reports a packet without reply as missed once, then as lost once', () => {
    const s = new TwampSender({ service: 'g', intervalMs: 100, lossTimeoutMs: 300, random: () => 0.5 })
    expect(s.tick(0).packet).toBeDefined()
    expect(s.tick(50).packet).toBeUndefined()
    // No reply yet to learn an RTT from: the miss deadline is the interval.
    const t = s.tick(100)
    expect(t.packet).toBeDefined()
    expect(t.losses).toEqual([{ service: 'g', method: 'twamp', missed: true }])
    expect(s.tick(310).losses).toEqual([
      { service: 'g', method: 'twamp', lost: true },
      { service: 'g', method: 'twamp', missed: true },
    ])
    expect(s.tick(320).losses).toEqual([])
    expect(s.counters.lost).toBe(1)
    expect(s.counters.missed).toBe(2)
  })

  it('ignores duplicates, late replies, unknown sequence numbers and garbage', () => {
    const s = new TwampSender({ service: 'g', lossTimeoutMs: 300, random: () => 0.5 })
    const core = new TwampReflectorCore()
    const reply = reflect(core, Uint8Array.from(s.tick(0).packet!), 0)
    expect(s.onReply(20, reply)).toBeDefined()
    expect(s.onReply(21, reply)).toBeUndefined()
    const p2 = Uint8Array.from(s.tick(100).packet!)
    s.tick(500) // p2 expires
    expect(s.onReply(501, reflect(core, p2, 100))).toBeUndefined()
    const forged = reflect(core, Uint8Array.from(s.tick(600).packet!), 600)
    forged[30] ^= 0xff // sender timestamp no longer ours
    expect(s.onReply(620, forged)).toBeUndefined()
    expect(s.onReply(620, new Uint8Array(10))).toBeUndefined()
    expect(s.counters).toMatchObject({ replies: 1, late_or_unknown: 3, malformed: 1, lost: 1 })
  })
})
