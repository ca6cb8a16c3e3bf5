import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { tailTargetMet, pathDelayMs } from '../../lab/demo/tails.js'
import { UdpLinkEmulator } from '../../lab/linkemu/index.js'

const open: { close: () => void }[] = []
afterEach(() => {
  for (const o of open.splice(0)) o.close()
})

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  open.push(s)
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
  return s
}

describe('loopback link emulator: its own delay error', () => {
  it('records how late each release was, per link and pooled, and starts afresh on reset', async () => {
    const emu = new UdpLinkEmulator()
    open.push(emu)
    const a = await bound()
    const b = await bound()
    const ends = await emu.addLink('ab', { host: '127.0.0.1', port: a.address().port }, { host: '127.0.0.1', port: b.address().port }, { delayMs: 3 }, { delayMs: 3 })
    let got = 0
    b.on('message', () => void got++)
    for (let i = 0; i < 20; i++) a.send(Buffer.from([i]), ends.portForA, '127.0.0.1')
    const end = Date.now() + 5_000
    while (got < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    expect(got).toBe(20)
    const link = emu.delayError('ab')
    expect(link.samples).toBe(20)
    // Never released before its due time (beyond the early-release allowance).
    expect(link.p50_ms).toBeGreaterThanOrEqual(-0.05)
    expect(emu.delayError().samples).toBe(20)
    emu.resetDelayError()
    expect(emu.delayError('ab').samples).toBe(0)
    expect(['timerfd', 'spin']).toContain(emu.wakerKind)
  })

  it('refuses the delay error of a link it does not have', () => {
    const emu = new UdpLinkEmulator()
    open.push(emu)
    expect(() => emu.delayError('nope')).toThrow(/no link nope/)
  })
})

describe('demo tail breakdown', () => {
  it('sums the configured delays along a path', () => {
    expect(pathDelayMs(['lax', 'atl', 'bos'])).toBe(27 + 12)
    expect(pathDelayMs(['lax'])).toBe(0)
  })

  it('meets the tail target only when the p99 gain is at least half the p50 gain and not a loss', () => {
    expect(tailTargetMet(14, 7)).toBe(true)
    expect(tailTargetMet(14, 6.9)).toBe(false)
    expect(tailTargetMet(14, -1)).toBe(false)
    expect(tailTargetMet(-2, -0.5)).toBe(false)
  })
})
