/**
 * Per-packet crypto costs. Sealing and opening are measured per backend with
 * tweetnacl (portable JS) as the baseline, so the ratio is what sodium-native
 * buys; the replay window and a full endpoint send -> receive round trip put
 * the primitive in context.
 */
import { selectAead } from '../src/crypto/aead.js'
import { createSecureEndpoint, generateKeyPair, type CryptoSecureEndpoint } from '../src/crypto/index.js'
import { ReplayWindow } from '../src/crypto/replay.js'
import { Ed25519ColumnAuth, signPublicKeyOf } from '../src/crypto/column-signing.js'
import { canonicalColumn } from '../src/route/column-signature.js'
import type { EdgeTuple, MapUpdate } from '../src/route/control-message.js'
import { ratioSuite } from './lib.js'

function sealOpenCase(backend: 'sodium' | 'tweetnacl', size: number): { name: string; fn: () => unknown } {
  const aead = selectAead(backend)
  const key = Buffer.alloc(32, 7)
  const nonce = Buffer.alloc(24, 1)
  const plain = Buffer.alloc(size, 0x5a)
  const sealed = Buffer.alloc(size + 16)
  const opened = Buffer.alloc(size)
  return {
    name: `${backend} seal+open ${size} B`,
    fn: () => {
      nonce[0]++
      aead.seal(sealed, plain, nonce, key)
      if (!aead.open(opened, sealed, nonce, key)) throw new Error('open failed')
    },
  }
}

/** Two endpoints wired back to back with a session up; returns a one-packet round trip. */
function roundTrip(backend: 'sodium' | 'tweetnacl', size: number): { name: string; fn: () => unknown } {
  const ka = generateKeyPair()
  const kb = generateKeyPair()
  const queue: { to: CryptoSecureEndpoint; data: Buffer }[] = []
  let direct = false
  let delivered = 0
  const nowMs = 1_000
  const make = (me: typeof ka, them: typeof ka, other: () => CryptoSecureEndpoint) =>
    createSecureEndpoint({
      privateKey: me.privateKey,
      peers: [{ index: 0, publicKey: them.publicKey }],
      backend,
      rekeyAfterMs: 1e12,
      rejectAfterMs: 2e12,
      transmit: (_peer, data, length) => {
        if (direct) {
          if (other().receive(0, nowMs, data, length) >= 0) delivered++
        } else {
          queue.push({ to: other(), data: Buffer.from(data.subarray(0, length)) })
        }
      },
    })
  const a: CryptoSecureEndpoint = make(ka, kb, () => b)
  const b: CryptoSecureEndpoint = make(kb, ka, () => a)
  const payload = Buffer.alloc(size, 0x33)
  a.send(0, nowMs, payload, size)
  for (let i = 0; i < 10 && queue.length > 0; i++) {
    const { to, data } = queue.shift()!
    to.receive(0, nowMs, data, data.length)
  }
  if (!a.hasSession(0)) throw new Error('bench session did not come up')
  direct = true
  return { name: `endpoint send->receive ${size} B (${backend})`, fn: () => a.send(0, nowMs, payload, size) }
}

/** A map column of `edges` edges (a settled delta holds a few; a whole column of a 246-relay network 245). */
function column(edges: number): MapUpdate {
  const e: EdgeTuple[] = Array.from({ length: edges }, (_, i) => [`relay-${i}`, 12.345 + i, 11.5 + i, -0.25, 24.5, 0.61, 0, true])
  return { type: 'overpass.map', v: 1, origin: 'lax', boot: 0xdeadbeef, seq: 4242, full: edges > 8, edges: e, origins: [] }
}

/** Map-column signatures (docs/security.md, Control-plane messages): per column, per primitive. */
async function columnSignatures(): Promise<void> {
  const kp = generateKeyPair()
  const keys = new Map([['lax', signPublicKeyOf(kp.privateKey)]])
  const sodium = new Ed25519ColumnAuth(kp.privateKey, keys, 'sodium')
  const node = new Ed25519ColumnAuth(kp.privateKey, keys, 'node')
  for (const edges of [4, 245]) {
    const u = column(edges)
    const bytes = canonicalColumn(u)
    const sig = sodium.sign(bytes)
    await ratioSuite(`map column signature, ${edges} edges (${bytes.length} B canonical)`, [
      { name: 'baseline: canonical encoding', fn: () => canonicalColumn(u) },
      { name: 'sodium sign', fn: () => sodium.sign(bytes) },
      { name: 'sodium verify', fn: () => { if (!sodium.verify('lax', bytes, sig)) throw new Error('verify failed') } },
      { name: 'node:crypto sign', fn: () => node.sign(bytes) },
      { name: 'node:crypto verify', fn: () => { if (!node.verify('lax', bytes, sig)) throw new Error('verify failed') } },
    ], { maxTime: 0.5 })
  }
}

export async function run(): Promise<void> {
  await columnSignatures()

  for (const size of [64, 200, 1200]) {
    await ratioSuite(`secretbox seal+open ${size} B`, [sealOpenCase('tweetnacl', size), sealOpenCase('sodium', size)])
  }

  const inOrder = new ReplayWindow()
  const reordered = new ReplayWindow()
  const checkOnly = new ReplayWindow()
  let c1 = 0
  let c2 = 0
  let c3 = 0
  await ratioSuite('replay window', [
    { name: 'baseline: update, in order', fn: () => inOrder.update(c1++) },
    // Pairs swapped (1,0,3,2,...): every other packet lands behind the head.
    { name: 'update, pairwise reordered', fn: () => reordered.update((c2++ ^ 1) + 1) },
    { name: 'check only', fn: () => checkOnly.check(c3++) },
  ])

  await ratioSuite('endpoint round trip (seal, transmit, open, replay)', [
    roundTrip('tweetnacl', 200),
    roundTrip('sodium', 200),
    roundTrip('tweetnacl', 1200),
    roundTrip('sodium', 1200),
  ])
}
