/**
 * Live peer table changes on the crypto endpoint (CryptoEndpoint.setPeers,
 * setPrivateKey): kept peers keep their sessions, a bad table changes
 * nothing, a removed peer's keys are gone, and a relay's new static key is
 * used by the next handshake while its old session still carries traffic.
 */
import { describe, expect, it } from 'vitest'
import { EndpointConfigError, generateKeyPair } from '../../src/crypto/index.js'
import { sessionPair } from './endpoint-pair.js'

describe('the crypto endpoint\'s peer table, changed live', () => {
  it('keeps a session when a peer is added next to it, and refuses a bad table without changing anything', () => {
    const { a, b, keys, take } = sessionPair()
    const other = generateKeyPair()
    a.setPeers!([{ index: 0, publicKey: keys.b.publicKey }, { index: 1, publicKey: other.publicKey }])
    expect(a.hasSession(0)).toBe(true)
    // The same key twice: refused whole.
    expect(() => a.setPeers!([{ index: 0, publicKey: keys.b.publicKey }, { index: 2, publicKey: keys.b.publicKey }])).toThrow(EndpointConfigError)
    expect(a.hasSession(0)).toBe(true)
    expect(a.send(0, 1_100, Buffer.from('after'), 5)).toBe(true)
    const [d] = take('a')
    expect(b.receive(0, 1_100, d, d.length)).toBe(5)
  })

  it('wipes a removed peer: its packets no longer open', () => {
    const { a, b, take } = sessionPair()
    b.send(0, 1_100, Buffer.from('late'), 4)
    const [d] = take('b')
    a.setPeers!([])
    expect(a.hasSession(0)).toBe(false)
    expect(a.receive(0, 1_100, d, d.length)).toBeLessThan(0)
  })

  it('takes a peer\'s initiation under its next key, and keeps the old session while the new static key is used', () => {
    const { a, b, keys, take } = sessionPair()
    const fresh = generateKeyPair()
    // a learns b's next key (the network announces it), then b switches to it.
    a.setPeers!([{ index: 0, publicKey: keys.b.publicKey, nextPublicKey: fresh.publicKey }])
    b.setPrivateKey!(fresh.privateKey)
    expect(b.hasSession(0)).toBe(true)
    // b's rekey handshake, under its new key, is answered by a.
    b.tick(1_000 + 130_000)
    const init = take('b')
    expect(init.length).toBe(1)
    for (const d of init) a.receive(0, 131_000, d, d.length)
    expect(take('a').length).toBe(1) // the response
  })

  it('refuses the same initiation from a peer whose next key it was never told (the defence above is real)', () => {
    const { a, b, take } = sessionPair()
    b.setPrivateKey!(generateKeyPair().privateKey)
    b.tick(131_000)
    for (const d of take('b')) a.receive(0, 131_000, d, d.length)
    expect(take('a').length).toBe(0)
  })
})
