import { describe, expect, it } from 'vitest'
import { SourceOwners } from '../../src/dataplane/source-check.js'
import { IpPacket, parseIpPacket, parsePrefix } from '../../src/l3/index.js'
import { nameId } from '../../src/wire/ids.js'
import { buildV4, buildV6 } from '../l3/packets.js'
import { fullService } from './helpers.js'

const owners = new SourceOwners([
  fullService({ name: 'dc', mode: 'l3', prefixes: [parsePrefix('10.200.0.0/24'), parsePrefix('fd00:200::/64')], exits: ['dal', 'atl'] }),
  fullService({ name: 'site-wide', mode: 'l3', prefixes: [parsePrefix('10.0.0.0/8')], exits: ['lax'] }),
  fullService({ name: 'site-sea', mode: 'l3', prefixes: [parsePrefix('10.102.0.0/24')], exits: ['sea'] }),
  fullService({ name: 'game', mode: 'l4', exits: ['chi'] }),
])

function ownedBy(relay: string, packet: Buffer): boolean {
  const pkt = new IpPacket()
  expect(parseIpPacket(packet, 0, packet.length, pkt)).toBeGreaterThan(0)
  return owners.ownedBy(nameId(relay), packet, pkt)
}

describe('SourceOwners', () => {
  it.each([
    ['dal', '10.200.0.9', true],
    ['atl', '10.200.0.9', true],
    ['lax', '10.200.0.9', false],
    ['lax', '10.101.0.5', true],
    // The /24 of sea inside lax's /8 is sea's alone, as replies to it would be routed.
    ['lax', '10.102.0.5', false],
    ['sea', '10.102.0.5', true],
    ['sea', '10.101.0.5', false],
    ['chi', '192.0.2.1', false],
  ])('%s owns %s: %s', (relay, src, want) => {
    expect(ownedBy(relay, buildV4({ src, dst: '10.200.0.1' }))).toBe(want)
  })

  it('checks IPv6 sources against IPv6 prefixes', () => {
    expect(ownedBy('dal', buildV6({ src: 'fd00:200::5', dst: 'fd00:101::1' }))).toBe(true)
    expect(ownedBy('lax', buildV6({ src: 'fd00:200::5', dst: 'fd00:101::1' }))).toBe(false)
  })
})
