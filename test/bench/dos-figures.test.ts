import { describe, expect, it } from 'vitest'
import { answers, controlFigures, countedOnce, deltas, flowFloodFigures, handshakeFloodFigures, junkFigures, replyRatio, type HandshakeFloodInput } from '../../bench/dos/figures.js'
import { decodePayloads, encodePayloads, forgedInitiation, interleave, malformedDatagrams, unknownKeyTransport } from '../../bench/dos/payloads.js'
import { generateKeyPair, INIT_LEN } from '../../src/crypto/index.js'
import { INIT_OFF_MAC1 } from '../../src/crypto/handshake.js'
import { hash, mac1Valid } from '../../src/crypto/kdf.js'

const handshake = (over: Partial<HandshakeFloodInput> = {}): Record<string, unknown> =>
  handshakeFloodFigures({
    rate: 10_000, sent: 40_000, elapsedS: 4, handshakeMs: 300, quietHandshakeMs: 20, victimCpuUs: 2_000_000, cpuWindowS: 4,
    victimAlive: true, gameSent: 256, gameReceived: 256, gameP99Us: 900, cookieRepliesSent: 30_000, cookieReplyBytes: 64,
    initiationBytes: 144, captured: { replies_by_type: { '4': { count: 29_000, max_bytes: 64 } } }, kernelRcvbufDrops: 0, peerCookieInvalid: 0,
    ...over,
  })

describe('bench:dos figures', () => {
  it('passes a handshake flood only when the peer got through within 1 s and no answer outgrew the request', () => {
    const ok = handshake()
    expect(ok).toMatchObject({ pass: true, victim_cpu_share: 0.5, reply_to_request: 0.444, game_loss: 0 })
    expect(handshake({ handshakeMs: 1001 }).pass).toBe(false)
    expect(handshake({ handshakeMs: undefined }).pass).toBe(false)
    expect(handshake({ victimAlive: false }).pass).toBe(false)
    // A captured answer larger than the initiation is amplification.
    expect(handshake({ captured: { replies_by_type: { '2': { count: 1, max_bytes: 145 } } } }).pass).toBe(false)
  })

  it('counts only the answering types (handshake response, cookie reply) as replies', () => {
    const r = answers({ replies_by_type: { '3': { count: 50, max_bytes: 1400 }, '4': { count: 7, max_bytes: 64 }, '2': { count: 1, max_bytes: 76 } } })
    expect(r).toEqual({ count: 8, max_bytes: 76 })
    expect(replyRatio(0, 144)).toBe(0)
  })

  it('counts each drop once, not again in the total it rolls up into', () => {
    expect(countedOnce({ control_malformed: 3, control_malformed_ext_type: 2, control_malformed_too_deep: 1, replay: 5 })).toBe(8)
    expect(deltas({ a: 1, b: 2 }, { a: 1, b: 5, c: 4 })).toEqual({ b: 3, c: 4 })
  })

  it('fails a junk flood that leaves datagrams uncounted', () => {
    const base = {
      rate: 50_000, sentByKind: { malformed: 10, replayed: 10 }, elapsedS: 1, kernelRcvbufDrops: 0,
      captured: { replies_by_type: {} }, smallestAnsweredRequestBytes: INIT_LEN, victimAlive: true, gameSent: 10, gameReceived: 10,
    }
    expect(junkFigures({ ...base, dropsByReason: { malformed: 10, replay: 10 } })).toMatchObject({ counted: 20, uncounted: 0, pass: true })
    expect(junkFigures({ ...base, dropsByReason: { malformed: 10, replay: 5 } })).toMatchObject({ uncounted: 5, pass: false })
    // What the kernel dropped never reached the relay: counted as such, not as missing.
    expect(junkFigures({ ...base, dropsByReason: { malformed: 10, replay: 5 }, kernelRcvbufDrops: 5 }).pass).toBe(true)
  })

  it('fails a flow flood with any loss on the established flow or a new client shut out', () => {
    const base = { rate: 5000, sent: 20_000, elapsedS: 4, maxFlows: 4096, peakIngressFlows: 4096, drops: {}, kernelRcvbufDrops: 0, victimAlive: true }
    expect(flowFloodFigures({ ...base, established: { sent: 384, received: 384 }, newClient: { sent: 64, received: 64 } }).pass).toBe(true)
    expect(flowFloodFigures({ ...base, established: { sent: 384, received: 383 }, newClient: { sent: 64, received: 64 } }).pass).toBe(false)
    expect(flowFloodFigures({ ...base, established: { sent: 384, received: 384 }, newClient: { sent: 64, received: 0 } }).pass).toBe(false)
  })

  it('passes crafted control only when every forged column and every malformed message was counted', () => {
    const base = { sentByKind: { cyclic: 2, forged_unsigned: 2 }, forgedKinds: ['forged_unsigned'], victimAlive: true, victimAnswers: true, gameSent: 1, gameReceived: 1 }
    expect(controlFigures({ ...base, counted: { control_forged: 2, control_malformed: 2 } }).pass).toBe(true)
    expect(controlFigures({ ...base, counted: { control_forged: 1, control_malformed: 2 } }).pass).toBe(false)
    expect(controlFigures({ ...base, counted: { control_forged: 2, control_malformed: 2 }, victimAnswers: false }).pass).toBe(false)
  })
})

describe('bench:dos payloads', () => {
  it('forges initiations with a valid mac1 for the victim, as anyone who knows its public key can', () => {
    const victim = generateKeyPair()
    const m = forgedInitiation(victim.publicKey)
    expect(m.length).toBe(INIT_LEN)
    expect(mac1Valid(hash(Buffer.from('mac1----'), victim.publicKey), m, INIT_OFF_MAC1)).toBe(true)
  })

  it('round-trips the payload file format and interleaves kinds evenly', () => {
    const list = [...malformedDatagrams(16), unknownKeyTransport()]
    expect(decodePayloads(encodePayloads(list)).map((b) => b.toString('hex'))).toEqual(list.map((b) => b.toString('hex')))
    expect(interleave<number | string>([1, 2, 3], ['a'])).toEqual([1, 'a', 2, 'a', 3, 'a'])
  })
})
