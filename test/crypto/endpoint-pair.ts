/** Two endpoints with a session between them, wired by hand (no network), for the fuzz properties. */
import { createSecureEndpoint, generateKeyPair, type CryptoSecureEndpoint } from '../../src/crypto/index.js'

export interface Pair {
  a: CryptoSecureEndpoint
  b: CryptoSecureEndpoint
  keys: { a: ReturnType<typeof generateKeyPair>; b: ReturnType<typeof generateKeyPair> }
  /** Datagrams a sent to b and b to a since the last take(). */
  take(from: 'a' | 'b'): Buffer[]
}

/** Runs the handshake a -> b and returns both endpoints with a confirmed session (peer index 0 on each side). */
export function sessionPair(nowMs = 1_000): Pair {
  const keys = { a: generateKeyPair(), b: generateKeyPair() }
  const out = { a: [] as Buffer[], b: [] as Buffer[] }
  const make = (me: 'a' | 'b', other: 'a' | 'b'): CryptoSecureEndpoint =>
    createSecureEndpoint({
      privateKey: keys[me].privateKey,
      peers: [{ index: 0, publicKey: keys[other].publicKey }],
      transmit: (_peer, data, length) => out[me].push(Buffer.from(data.subarray(0, length))),
    })
  const a = make('a', 'b')
  const b = make('b', 'a')
  a.send(0, nowMs, Buffer.from('hello'), 5)
  for (let round = 0; round < 4; round++) {
    for (const d of out.a.splice(0)) b.receive(0, nowMs, d, d.length)
    for (const d of out.b.splice(0)) a.receive(0, nowMs, d, d.length)
  }
  if (!a.hasSession(0) || !b.hasSession(0)) throw new Error('sessionPair: no session')
  return { a, b, keys, take: (from) => out[from].splice(0) }
}
