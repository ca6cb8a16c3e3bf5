import { describe, expect, it } from 'vitest'
import {
  decodeProbe, emptyProbeFields, encodeProbe, PROBE_LEN, PROBE_OFF_FLAGS, PROBE_OFF_RESERVED, PROBE_OFF_TX_MS,
  PROBE_OFF_VERSION, PROBE_OFF_ECHO_RX_MS, ProbeDrop,
} from '../../src/probe/probe-codec.js'
import type { ProbeFields } from '../../src/probe/probe-codec.js'

function sample(): ProbeFields {
  return {
    senderId: 0xdeadbeef, bootId: 7, seq: 42, txMs: 3_600_123.456, hasEcho: true, fast: true,
    echoSeq: 41, echoBootId: 9, echoTxMs: -7_200_000.25, echoRxMs: 3_600_100.5,
  }
}

describe('probe codec', () => {
  it('round-trips every field at its named offset', () => {
    const buf = new Uint8Array(PROBE_LEN)
    encodeProbe(buf, sample())
    const out = emptyProbeFields()
    expect(decodeProbe(buf, out)).toBe(ProbeDrop.Ok)
    expect(out).toEqual(sample())
    expect(new DataView(buf.buffer).getFloat64(PROBE_OFF_TX_MS)).toBe(3_600_123.456)
  })

  it('zeroes the echo fields when there is no echo', () => {
    const buf = new Uint8Array(PROBE_LEN)
    encodeProbe(buf, { ...sample(), hasEcho: false })
    const out = emptyProbeFields()
    expect(decodeProbe(buf, out)).toBe(ProbeDrop.Ok)
    expect(out.hasEcho).toBe(false)
    expect(out.echoTxMs).toBe(0)
  })

  it('carries the fast flag apart from the echo flag', () => {
    const buf = new Uint8Array(PROBE_LEN)
    encodeProbe(buf, { ...sample(), fast: false })
    const out = emptyProbeFields()
    expect(decodeProbe(buf, out)).toBe(ProbeDrop.Ok)
    expect(out.fast).toBe(false)
    expect(out.hasEcho).toBe(true)
  })

  const bad: [string, (b: Uint8Array) => Uint8Array, ProbeDrop][] = [
    ['too short', (b) => b.subarray(0, PROBE_LEN - 1), ProbeDrop.Length],
    ['too long', (b) => Uint8Array.from([...b, 0]), ProbeDrop.Length],
    ['empty', () => new Uint8Array(0), ProbeDrop.Length],
    ['wrong version', (b) => { b[PROBE_OFF_VERSION] = 9; return b }, ProbeDrop.Version],
    ['unknown flag bit', (b) => { b[PROBE_OFF_FLAGS] |= 0x80; return b }, ProbeDrop.Reserved],
    ['reserved byte set', (b) => { b[PROBE_OFF_RESERVED] = 1; return b }, ProbeDrop.Reserved],
    ['NaN send time', (b) => { new DataView(b.buffer, b.byteOffset).setFloat64(PROBE_OFF_TX_MS, NaN); return b }, ProbeDrop.NonFinite],
    ['infinite echo time', (b) => { new DataView(b.buffer, b.byteOffset).setFloat64(PROBE_OFF_ECHO_RX_MS, Infinity); return b }, ProbeDrop.NonFinite],
  ]
  it.each(bad)('drops a probe with %s', (_name, mutate, reason) => {
    const buf = new Uint8Array(PROBE_LEN)
    encodeProbe(buf, sample())
    expect(decodeProbe(mutate(buf), emptyProbeFields())).toBe(reason)
  })
})
