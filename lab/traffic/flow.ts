/**
 * A measured test flow: sends a profile's packets to a target and records,
 * per packet, the one-way delay each way (from the timestamps the echo
 * wrote) and the round trip. Bounded by a packet count.
 */
import dgram from 'node:dgram'
import { TP_HEADER_BYTES, TP_OFF_FLOW, TP_OFF_SEQ, TP_OFF_SENT, TRAFFIC_MAGIC, readTestPacket, stampEcho, writeTestPacket } from './packet.js'
import { monoMs, type TrafficProfile } from './profiles.js'
import { summarise, type DirectionSummary } from './stats.js'

export interface FlowSample {
  seq: number
  sentMs: number
  receivedMs: number
  forwardMs: number
  reverseMs: number
  rttMs: number
}

export interface FlowReport {
  name: string
  sent: number
  received: number
  loss_pct: number
  forward: DirectionSummary
  reverse: DirectionSummary
  rtt: DirectionSummary
  reordered: number
  max_gap_ms: number
}

export class MeasuredFlow {
  readonly samples: FlowSample[] = []
  private socket: dgram.Socket | undefined
  private sent = 0
  private highestSeq = -1
  private reordered = 0
  private timer: NodeJS.Timeout | undefined

  constructor(readonly name: string, private readonly profile: TrafficProfile, private target: { host: string; port: number }, private readonly flowId: number, private readonly random: () => number = Math.random) {}

  /** The flow's own UDP port (after open), e.g. to put an emulated link in front of it. */
  localPort(): number {
    return this.socket?.address().port ?? 0
  }

  retarget(target: { host: string; port: number }): void {
    this.target = target
  }

  async open(bindHost = '127.0.0.1'): Promise<void> {
    const s = dgram.createSocket('udp4')
    s.on('message', (msg) => this.onReply(msg))
    await new Promise<void>((resolve) => s.bind(0, bindHost, () => resolve()))
    this.socket = s
  }

  /** Sends `count` packets at the profile's rate; resolves when the last is sent. */
  run(count: number): Promise<void> {
    const intervalMs = 1000 / this.profile.ratePerSec
    const start = monoMs()
    return new Promise((resolve) => {
      const step = (): void => {
        this.sendOne()
        if (this.sent >= count) {
          resolve()
          return
        }
        // Schedule against the start time so timer lateness does not accumulate.
        const next = start + this.sent * intervalMs
        this.timer = setTimeout(step, Math.max(0, next - monoMs()))
      }
      step()
    })
  }

  private sendOne(): void {
    const p = this.profile
    const size = Math.max(TP_HEADER_BYTES, p.minBytes + Math.floor(this.random() * (p.maxBytes - p.minBytes + 1)))
    const buf = Buffer.alloc(size)
    writeTestPacket(buf, this.flowId, this.sent, monoMs())
    this.sent++
    this.socket?.send(buf, this.target.port, this.target.host)
  }

  private onReply(msg: Buffer): void {
    const now = monoMs()
    const p = readTestPacket(msg)
    if (!p || p.flow !== this.flowId || p.originRxMs === 0) return
    if (p.seq < this.highestSeq) this.reordered++
    else this.highestSeq = p.seq
    this.samples.push({ seq: p.seq, sentMs: p.sentMs, receivedMs: now, forwardMs: p.originRxMs - p.sentMs, reverseMs: now - p.originTxMs, rttMs: now - p.sentMs })
  }

  report(): FlowReport {
    const inOrder = [...this.samples].sort((a, b) => a.seq - b.seq)
    // Longest time the receiver went without a packet (what a player or caller notices).
    let maxGap = 0
    for (let i = 1; i < this.samples.length; i++) maxGap = Math.max(maxGap, this.samples[i].receivedMs - this.samples[i - 1].receivedMs)
    return {
      name: this.name,
      sent: this.sent,
      received: this.samples.length,
      loss_pct: this.sent > 0 ? (100 * (this.sent - this.samples.length)) / this.sent : 0,
      forward: summarise(inOrder.map((s) => s.forwardMs)),
      reverse: summarise(inOrder.map((s) => s.reverseMs)),
      rtt: summarise(inOrder.map((s) => s.rttMs)),
      reordered: this.reordered,
      max_gap_ms: maxGap,
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.socket?.close()
  }
}

/** What the origin saw of one test packet: its flow, seq, the client's send time and the receive time. */
export type EchoRecorder = (flow: number, seq: number, sentMs: number, rxMs: number) => void

/**
 * The origin side: echoes test packets with its receive and send
 * timestamps. `record` (the lab's origins) sees every test packet received,
 * so loss on the way out can be told from loss on the way back.
 */
export async function startTimestampEcho(host: string, port: number, record?: EchoRecorder): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  s.on('message', (msg, rinfo) => {
    const rx = monoMs()
    if (record !== undefined && msg.length >= TP_HEADER_BYTES && msg.readUInt32BE(0) === TRAFFIC_MAGIC) record(msg.readUInt32BE(TP_OFF_FLOW), msg.readUInt32BE(TP_OFF_SEQ), msg.readDoubleBE(TP_OFF_SENT), rx)
    if (stampEcho(msg, rx, monoMs())) s.send(msg, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => s.bind(port, host, () => resolve()))
  return s
}
