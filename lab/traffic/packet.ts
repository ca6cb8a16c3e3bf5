/**
 * Test packet layout (big-endian), padded to the profile's size:
 *
 *   0  u32 magic 'OPTR'   4  u32 flow id   8  u32 sequence
 *   12 f64 client send time (ms, CLOCK_MONOTONIC)
 *   20 f64 origin receive time (0 until echoed)
 *   28 f64 origin send time (0 until echoed)
 */
export const TRAFFIC_MAGIC = 0x4f505452
export const TP_OFF_FLOW = 4
export const TP_OFF_SEQ = 8
export const TP_OFF_SENT = 12
export const TP_OFF_ORIGIN_RX = 20
export const TP_OFF_ORIGIN_TX = 28
export const TP_HEADER_BYTES = 36

export function writeTestPacket(buf: Buffer, flow: number, seq: number, sentMs: number): void {
  buf.writeUInt32BE(TRAFFIC_MAGIC, 0)
  buf.writeUInt32BE(flow >>> 0, TP_OFF_FLOW)
  buf.writeUInt32BE(seq >>> 0, TP_OFF_SEQ)
  buf.writeDoubleBE(sentMs, TP_OFF_SENT)
  buf.writeDoubleBE(0, TP_OFF_ORIGIN_RX)
  buf.writeDoubleBE(0, TP_OFF_ORIGIN_TX)
}

/** Origin side: stamp receive and send time into the packet in place; false if not a test packet. */
export function stampEcho(buf: Buffer, rxMs: number, txMs: number): boolean {
  if (buf.length < TP_HEADER_BYTES || buf.readUInt32BE(0) !== TRAFFIC_MAGIC) return false
  buf.writeDoubleBE(rxMs, TP_OFF_ORIGIN_RX)
  buf.writeDoubleBE(txMs, TP_OFF_ORIGIN_TX)
  return true
}

export interface EchoedPacket {
  flow: number
  seq: number
  sentMs: number
  originRxMs: number
  originTxMs: number
}

export function readTestPacket(buf: Buffer): EchoedPacket | undefined {
  if (buf.length < TP_HEADER_BYTES || buf.readUInt32BE(0) !== TRAFFIC_MAGIC) return undefined
  return {
    flow: buf.readUInt32BE(TP_OFF_FLOW),
    seq: buf.readUInt32BE(TP_OFF_SEQ),
    sentMs: buf.readDoubleBE(TP_OFF_SENT),
    originRxMs: buf.readDoubleBE(TP_OFF_ORIGIN_RX),
    originTxMs: buf.readDoubleBE(TP_OFF_ORIGIN_TX),
  }
}
