/**
 * The attacks of `bench:dos` (issue 14, "Measured under attack"), each run
 * against ing while a 64 Hz game flow goes client → ing → ex → origin and
 * back. Each returns the figures of figures.ts; every load is bounded in
 * count and seconds.
 */
import fs from 'node:fs'
import path from 'node:path'
import { COOKIE_REPLY_LEN } from '../../src/crypto/cookie.js'
import { INIT_LEN } from '../../src/crypto/index.js'
import { cpuUs } from '../e2e/proc.js'
import { sleep } from '../e2e/shell.js'
import type { LoadResult } from '../e2e/loadgen.js'
import { Dosgen, runTracked } from './dosgen.js'
import { controlFigures, deltas, flowFloodFigures, handshakeFloodFigures, junkFigures } from './figures.js'
import { decodePayloads, forgedInitiation, interleave, malformedDatagrams, unknownKeyInitiation, unknownKeyTransport, writePayloads } from './payloads.js'
import { MAX_FLOWS, OVERLAY_PORT, RELAYS, SERVICE_PORT, SPOOF_CLIENT_BASE, logTimeMs, type DosWorld } from './world.js'

export const GAME_RATE = 64
const GAME_SIZE = 100

export interface AttackContext {
  world: DosWorld
  dosgen: Dosgen
  loadgen: string
  dir: string
  log: (line: string) => void
}

/** The game flow: `seconds` of 64 Hz round trips from the client through ing (one client socket, one flow). */
export async function gameFlow(ctx: AttackContext, seconds: number): Promise<LoadResult> {
  const count = Math.round(GAME_RATE * seconds)
  const maxSeconds = seconds + 3
  const line = await runTracked('ip', [
    'netns', 'exec', ctx.world.ns, ctx.loadgen, 'load', RELAYS.ing, String(SERVICE_PORT), String(GAME_RATE), String(count), String(GAME_SIZE), String(maxSeconds),
  ], (maxSeconds + 10) * 1000)
  const r = JSON.parse(line) as Omit<LoadResult, 'rate' | 'loss'>
  return { ...r, rate: GAME_RATE, loss: r.sent > 0 ? 1 - r.received / r.sent : 1 }
}

/** Restarts p3 and returns how long its fresh handshake with ing took, from its own log. */
async function restartP3(ctx: AttackContext): Promise<{ listeningWall?: number; upWall?: number; handshakeMs?: number }> {
  await ctx.world.stopRelay('p3')
  const p3 = await ctx.world.startRelay('p3')
  await ctx.world.sessions('p3', ['ing'], 10_000).catch(() => {})
  return handshakeTimes(p3.proc.log())
}

/** From p3 opening its overlay socket (its first probes, and so its initiation, go out at once) to its session with ing. */
function handshakeTimes(log: string): { listeningWall?: number; upWall?: number; handshakeMs?: number } {
  const listeningWall = logTimeMs(log, 'overlay listening')
  const upWall = logTimeMs(log, 'session up', { peer: 'ing' })
  return { listeningWall, upWall, handshakeMs: listeningWall !== undefined && upWall !== undefined ? upWall - listeningWall : undefined }
}

/**
 * Spoofed initiations "from p3" (valid mac1, random fields: all an attacker
 * without a private key can build) at `rate`/s for `seconds`, while p3 is
 * restarted, so its fresh handshake with ing has to get through the flood.
 * p3 is restarted once without a flood first, for comparison.
 */
export async function handshakeFlood(ctx: AttackContext, rate: number, seconds: number): Promise<Record<string, unknown>> {
  const { world } = ctx
  const quiet = await restartP3(ctx)
  ctx.log(`  p3 restarted without a flood: handshake with ing in ${quiet.handshakeMs ?? 'never'} ms`)
  await sleep(1500)
  const file = path.join(ctx.dir, `initiations-${rate}.bin`)
  writePayloads(file, Array.from({ length: 2000 }, () => forgedInitiation(world.keys.ing.publicKey)))
  const victim = world.pid('ing')
  const before = await world.status('ing')
  const kernelBefore = world.udpRcvbufErrors()
  const cpuBefore = cpuUs(victim)
  const game = gameFlow(ctx, seconds + 1)
  await sleep(500)
  await world.stopRelay('p3')
  // p3 takes a second or more to start: the flood is on, and ing under load, before p3 initiates.
  const floodStartWall = Date.now()
  const flood = ctx.dosgen.send({ dst: RELAYS.ing, dstPort: OVERLAY_PORT, rate, count: rate * seconds, payloads: file, src: RELAYS.p3, srcPort: OVERLAY_PORT, spread: 0 })
  const p3 = await world.startRelay('p3')
  const sent = await flood
  const cpuUsed = cpuUs(victim) - cpuBefore
  const cpuWindowS = sent.elapsed_s + 0.5
  const g = await game
  const floodEndWall = floodStartWall + sent.elapsed_s * 1000
  await world.sessions('p3', ['ing'], 10_000).catch(() => {})
  const t = handshakeTimes(p3.proc.log())
  // Only a handshake that started and ended while the flood was on counts.
  const during = t.listeningWall !== undefined && t.upWall !== undefined && t.listeningWall >= floodStartWall + 100 && t.upWall <= floodEndWall
  const after = await world.status('ing')
  const p3Drops = (await world.status('p3')).drops
  ctx.log(`  p3 overlay up ${t.listeningWall === undefined ? '?' : t.listeningWall - floodStartWall} ms into the flood, session with ing at ${t.upWall === undefined ? 'never' : `${t.upWall - floodStartWall} ms`} (flood ended at ${Math.round(floodEndWall - floodStartWall)} ms)`)
  return handshakeFloodFigures({
    rate,
    sent: sent.sent,
    elapsedS: sent.elapsed_s,
    handshakeMs: during ? t.handshakeMs : undefined,
    quietHandshakeMs: quiet.handshakeMs,
    victimCpuUs: cpuUsed,
    cpuWindowS,
    victimAlive: world.alive('ing'),
    gameSent: g.sent,
    gameReceived: g.received,
    gameP99Us: g.p99_us,
    cookieRepliesSent: (after.crypto?.total?.cookieRepliesSent ?? 0) - (before.crypto?.total?.cookieRepliesSent ?? 0),
    cookieReplyBytes: sent.replies_by_type['4']?.max_bytes ?? COOKIE_REPLY_LEN,
    initiationBytes: INIT_LEN,
    captured: sent,
    kernelRcvbufDrops: world.udpRcvbufErrors() - kernelBefore,
    peerCookieInvalid: p3Drops.cookie_invalid ?? 0,
  })
}

/**
 * Spoofed clients, each datagram from a new address and port across 4,096
 * /24s, into the game's service port: each would be a new flow. The game
 * flow is established first; a new real client arrives once the table is
 * full.
 */
export async function flowFlood(ctx: AttackContext, rate: number, seconds: number): Promise<Record<string, unknown>> {
  const { world } = ctx
  const file = path.join(ctx.dir, 'junk-clients.bin')
  writePayloads(file, Array.from({ length: 64 }, (_, i) => Buffer.alloc(GAME_SIZE, i + 1)))
  const before = await world.status('ing')
  const exBefore = await world.status('ex')
  const kernelBefore = world.udpRcvbufErrors()
  const game = gameFlow(ctx, seconds + 2)
  await sleep(1000)
  const flood = ctx.dosgen.send({ dst: RELAYS.ing, dstPort: SERVICE_PORT, rate, count: rate * seconds, payloads: file, src: SPOOF_CLIENT_BASE, srcPort: 1024, spread: 1 << 20 })
  let peak = 0
  const poll = (async () => {
    for (let i = 0; i < seconds * 4; i++) {
      await sleep(250)
      const s = await world.status('ing').catch(() => undefined)
      if (s !== undefined) peak = Math.max(peak, s.services.game.ingress_flows)
    }
  })()
  // The new client arrives once the table is full (MAX_FLOWS / rate seconds into the flood).
  await sleep(Math.min(seconds - 1.5, (MAX_FLOWS / rate) * 1.3) * 1000)
  const newClient = await gameFlow(ctx, 1)
  const sent = await flood
  await poll
  const g = await game
  const after = await world.status('ing')
  const exAfter = await world.status('ex')
  const drops = {
    ...prefixed('ing_', { ...deltas(before.drops, after.drops), ...deltas(before.services.game.drops, after.services.game.drops) }),
    ...prefixed('ex_', { ...deltas(exBefore.drops, exAfter.drops), ...deltas(exBefore.services.game.drops, exAfter.services.game.drops) }),
  }
  return flowFloodFigures({
    rate,
    sent: sent.sent,
    elapsedS: sent.elapsed_s,
    maxFlows: MAX_FLOWS,
    peakIngressFlows: peak,
    drops,
    established: { sent: g.sent, received: g.received },
    newClient: { sent: newClient.sent, received: newClient.received },
    kernelRcvbufDrops: world.udpRcvbufErrors() - kernelBefore,
    victimAlive: world.alive('ing'),
  })
}

/**
 * Malformed datagrams, replays of p3's real traffic and datagrams under keys
 * ing never agreed, all "from p3" (a datagram from any other address is
 * dropped as unknown_source before it is parsed), interleaved at `rate`/s.
 */
export async function junkFlood(ctx: AttackContext, rate: number, seconds: number): Promise<Record<string, unknown>> {
  const { world } = ctx
  const capFile = path.join(ctx.dir, 'p3-to-ing.bin')
  const captured = await ctx.dosgen.capture(RELAYS.p3, OVERLAY_PORT, RELAYS.ing, OVERLAY_PORT, 300, 4, capFile)
  const replays = captured > 0 ? decodePayloads(fs.readFileSync(capFile)).map((b) => ({ kind: 'replayed', b })) : []
  ctx.log(`  captured ${captured} datagrams p3 → ing to replay`)
  const malformed = malformedDatagrams(800).map((b) => ({ kind: 'malformed', b }))
  const unknownKey = interleave(
    Array.from({ length: 100 }, () => ({ kind: 'unknown_key', b: unknownKeyInitiation(world.keys.ing.publicKey) })),
    Array.from({ length: 100 }, () => ({ kind: 'unknown_key', b: unknownKeyTransport() })),
  )
  const list = interleave(malformed, replays, unknownKey)
  const file = path.join(ctx.dir, 'junk.bin')
  writePayloads(file, list.map((x) => x.b))
  const before = await world.status('ing')
  const kernelBefore = world.udpRcvbufErrors()
  const game = gameFlow(ctx, seconds + 1)
  await sleep(500)
  const sent = await ctx.dosgen.send({ dst: RELAYS.ing, dstPort: OVERLAY_PORT, rate, count: rate * seconds, payloads: file, src: RELAYS.p3, srcPort: OVERLAY_PORT, spread: 0 })
  const g = await game
  await sleep(300)
  const alive = world.alive('ing')
  const after = alive ? await world.status('ing') : before
  const sentByKind: Record<string, number> = {}
  for (let i = 0; i < sent.sent; i++) {
    const k = list[i % list.length].kind
    sentByKind[k] = (sentByKind[k] ?? 0) + 1
  }
  return junkFigures({
    rate,
    sentByKind,
    elapsedS: sent.elapsed_s,
    dropsByReason: deltas(before.drops, after.drops),
    kernelRcvbufDrops: world.udpRcvbufErrors() - kernelBefore,
    captured: sent,
    smallestAnsweredRequestBytes: INIT_LEN,
    victimAlive: alive,
    gameSent: g.sent,
    gameReceived: g.received,
  })
}

/** atl, a member relay, sends ing crafted control messages (control-attacks.ts), each HOSTILE_REPEAT times. */
export async function craftedControl(ctx: AttackContext): Promise<Record<string, unknown>> {
  const { world } = ctx
  const before = await world.status('ing')
  const game = gameFlow(ctx, 4)
  await sleep(500)
  const atl = world.relays.get('atl')!
  const logBefore = atl.proc.log().length
  process.kill(atl.proc.pid, 'SIGUSR2')
  let sentByKind: Record<string, number> | undefined
  for (let i = 0; i < 100 && sentByKind === undefined; i++) {
    await sleep(50)
    const line = atl.proc.log().slice(logBefore).split('\n').find((l) => l.includes('"hostile sent"'))
    if (line !== undefined) sentByKind = JSON.parse((JSON.parse(line) as { sent: string }).sent) as Record<string, number>
  }
  const g = await game
  const alive = world.alive('ing')
  const after = alive ? await world.status('ing').catch(() => undefined) : undefined
  const isControl = (k: string): boolean => k.startsWith('control_')
  const counted = after === undefined ? {} : mergeMax(deltas(before.drops, after.drops, isControl), deltas(before.router ?? {}, after.router ?? {}, isControl))
  return controlFigures({
    sentByKind: sentByKind ?? {},
    forgedKinds: ['forged_unsigned', 'forged_bad_signature'],
    counted,
    victimAlive: alive,
    victimAnswers: after !== undefined,
    gameSent: g.sent,
    gameReceived: g.received,
  })
}

function prefixed(p: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [p + k, v]))
}

/** The relay and its router may both count a reason; take each once. */
function mergeMax(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v)
  return out
}
