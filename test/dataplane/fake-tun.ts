/** An in-memory TunDevice: tests inject packets as if the kernel routed them in, and read what the relay wrote. */
import type { TunDevice } from '../../src/io/index.js'

export class FakeTun implements TunDevice {
  readonly written: Buffer[] = []
  closed = false
  private handler: (packet: Buffer) => void = () => {}

  constructor(readonly name: string) {}

  onPacket(handler: (packet: Buffer) => void): void {
    this.handler = handler
  }

  write(packet: Buffer, offset: number, length: number): boolean {
    if (this.closed) return false
    this.written.push(Buffer.from(packet.subarray(offset, offset + length)))
    return true
  }

  /** The kernel hands the relay `packet` (copied: the relay may rewrite the TTL in place, as in the real read buffer). */
  inject(packet: Buffer): void {
    this.handler(Buffer.from(packet))
  }

  close(): void {
    this.closed = true
  }
}
