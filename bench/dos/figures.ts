/**
 * The pure half of `bench:dos`: from what a run measured to the figures it
 * prints and whether each attack passed. No I/O, so it is unit-tested
 * (test/bench/dos-figures.test.ts).
 */

/** The peer's fresh handshake must complete within this under a flood (issue 14). */
export const HANDSHAKE_DEADLINE_MS = 1000
/** Outer types a relay sends in answer to a datagram it has not authenticated: handshake response, cookie reply. */
export const REPLY_TYPES = [2, 4]

export interface Replies {
  /** Captured datagrams from the victim to the spoofed address, by outer type (byte 1). */
  replies_by_type: Record<string, { count: number; max_bytes: number }>
}

/** Datagrams of the answering types and the largest of them. */
export function answers(r: Replies): { count: number; max_bytes: number } {
  let count = 0
  let max = 0
  for (const t of REPLY_TYPES) {
    const e = r.replies_by_type[String(t)]
    if (e === undefined) continue
    count += e.count
    max = Math.max(max, e.max_bytes)
  }
  return { count, max_bytes: max }
}

/** Largest answer over the smallest request that can draw one; 0 when nothing answered. */
export function replyRatio(maxReplyBytes: number, smallestAnsweredRequestBytes: number): number {
  if (maxReplyBytes === 0) return 0
  return round(maxReplyBytes / smallestAnsweredRequestBytes, 3)
}

/** Counter deltas `after - before`, only the keys that changed. */
export function deltas(before: Record<string, number>, after: Record<string, number>, keep: (k: string) => boolean = () => true): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) {
    if (!keep(k)) continue
    const d = v - (before[k] ?? 0)
    if (d !== 0) out[k] = d
  }
  return out
}

/**
 * Drops by reason: the per-reason counters only, not the totals they roll
 * up into (`control_malformed` beside `control_malformed_ext_type`), so
 * each datagram is counted once.
 */
export function countedOnce(byReason: Record<string, number>): number {
  const keys = Object.keys(byReason)
  let total = 0
  for (const k of keys) if (!keys.some((o) => o !== k && o.startsWith(k + '_'))) total += byReason[k]
  return total
}

export interface HandshakeFloodInput {
  rate: number
  sent: number
  elapsedS: number
  /** The peer's fresh handshake under the flood (undefined: not completed while the flood was on). */
  handshakeMs: number | undefined
  /** The same peer's fresh handshake without a flood, for comparison. */
  quietHandshakeMs: number | undefined
  victimCpuUs: number
  /** The wall-clock window the CPU time was taken over, s. */
  cpuWindowS: number
  victimAlive: boolean
  gameSent: number
  gameReceived: number
  gameP99Us: number
  cookieRepliesSent: number
  cookieReplyBytes: number
  initiationBytes: number
  captured: Replies
  /** Datagrams the namespace's kernel dropped for full socket buffers during the flood (any socket). */
  kernelRcvbufDrops: number
  /** Cookie replies the real peer received and could not open (the flood's answers, sent to its address). */
  peerCookieInvalid: number
}

export function handshakeFloodFigures(i: HandshakeFloodInput): Record<string, unknown> {
  const a = answers(i.captured)
  const ratio = replyRatio(Math.max(a.max_bytes, i.cookieRepliesSent > 0 ? i.cookieReplyBytes : 0), i.initiationBytes)
  const handshakeOk = i.handshakeMs !== undefined && i.handshakeMs <= HANDSHAKE_DEADLINE_MS
  return {
    rate_per_s: i.rate,
    sent: i.sent,
    achieved_rate_per_s: Math.round(i.sent / Math.max(i.elapsedS, 1e-3)),
    peer_handshake_ms: i.handshakeMs ?? null,
    peer_handshake_ms_without_flood: i.quietHandshakeMs ?? null,
    victim_cpu_share: round(i.victimCpuUs / (i.cpuWindowS * 1e6), 3),
    game_loss: lossOf(i.gameSent, i.gameReceived),
    game_p99_us: i.gameP99Us,
    cookie_replies_sent: i.cookieRepliesSent,
    cookie_replies_captured: i.captured.replies_by_type['4']?.count ?? 0,
    cookie_reply_bytes: i.cookieReplyBytes,
    request_bytes: i.initiationBytes,
    reply_to_request: ratio,
    kernel_rcvbuf_drops: i.kernelRcvbufDrops,
    peer_cookie_replies_refused: i.peerCookieInvalid,
    victim_alive: i.victimAlive,
    pass: i.victimAlive && handshakeOk && ratio <= 1,
  }
}

export interface FlowFloodInput {
  rate: number
  sent: number
  elapsedS: number
  maxFlows: number
  peakIngressFlows: number
  drops: Record<string, number>
  established: { sent: number; received: number }
  newClient: { sent: number; received: number }
  /** Datagrams the namespace's kernel dropped for full socket buffers during the flood (any socket). */
  kernelRcvbufDrops: number
  victimAlive: boolean
}

export function flowFloodFigures(i: FlowFloodInput): Record<string, unknown> {
  const established = lossOf(i.established.sent, i.established.received)
  return {
    rate_per_s: i.rate,
    spoofed_sent: i.sent,
    max_flows: i.maxFlows,
    peak_ingress_flows: i.peakIngressFlows,
    drops: i.drops,
    established_loss: established,
    new_client_sent: i.newClient.sent,
    new_client_received: i.newClient.received,
    kernel_rcvbuf_drops: i.kernelRcvbufDrops,
    victim_alive: i.victimAlive,
    pass: i.victimAlive && i.established.sent > 0 && established === 0 && i.newClient.received > 0,
  }
}

export interface JunkInput {
  rate: number
  sentByKind: Record<string, number>
  elapsedS: number
  dropsByReason: Record<string, number>
  kernelRcvbufDrops: number
  captured: Replies
  smallestAnsweredRequestBytes: number
  victimAlive: boolean
  gameSent: number
  gameReceived: number
}

export function junkFigures(i: JunkInput): Record<string, unknown> {
  const sent = Object.values(i.sentByKind).reduce((a, b) => a + b, 0)
  const counted = countedOnce(i.dropsByReason)
  const a = answers(i.captured)
  const ratio = replyRatio(a.max_bytes, i.smallestAnsweredRequestBytes)
  return {
    rate_per_s: i.rate,
    sent: i.sentByKind,
    achieved_rate_per_s: Math.round(sent / Math.max(i.elapsedS, 1e-3)),
    counted_by_reason: i.dropsByReason,
    counted,
    kernel_rcvbuf_drops: i.kernelRcvbufDrops,
    uncounted: Math.max(0, sent - counted - i.kernelRcvbufDrops),
    replies: a.count,
    max_reply_bytes: a.max_bytes,
    reply_to_request: ratio,
    game_loss: lossOf(i.gameSent, i.gameReceived),
    victim_alive: i.victimAlive,
    pass: i.victimAlive && counted + i.kernelRcvbufDrops >= sent && ratio <= 1,
  }
}

export interface ControlInput {
  sentByKind: Record<string, number>
  forgedKinds: string[]
  counted: Record<string, number>
  victimAlive: boolean
  victimAnswers: boolean
  gameSent: number
  gameReceived: number
}

export function controlFigures(i: ControlInput): Record<string, unknown> {
  const forgedSent = i.forgedKinds.reduce((a, k) => a + (i.sentByKind[k] ?? 0), 0)
  const malformedSent = Object.entries(i.sentByKind).filter(([k]) => !i.forgedKinds.includes(k)).reduce((a, [, v]) => a + v, 0)
  const forgedCounted = i.counted.control_forged ?? 0
  const malformedCounted = (i.counted.control_malformed ?? 0) + (i.counted.control_handler_error ?? 0)
  return {
    sent: i.sentByKind,
    counted: i.counted,
    forged_sent: forgedSent,
    forged_rejected: forgedCounted,
    malformed_sent: malformedSent,
    malformed_counted: malformedCounted,
    game_loss: lossOf(i.gameSent, i.gameReceived),
    victim_alive: i.victimAlive,
    victim_answers_control_socket: i.victimAnswers,
    pass: i.victimAlive && i.victimAnswers && forgedSent > 0 && forgedCounted >= forgedSent && malformedCounted >= malformedSent,
  }
}

export function lossOf(sent: number, received: number): number {
  return sent > 0 ? round(1 - received / sent, 4) : 1
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
