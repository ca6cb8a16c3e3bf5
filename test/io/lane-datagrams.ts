/** Datagrams that name a lane, for the lane-steering tests of the native UDP sockets. */

/** An overlay transport datagram (docs/wire-format.md) whose counter carries `lane` in byte 9; `id` at 16..19. */
export function transport(lane: number, id: number, bytes = 48): Buffer {
  const b = Buffer.alloc(bytes)
  b[0] = 1
  b[1] = 3
  b[9] = lane
  if (bytes >= 20) b.writeUInt32BE(id, 16)
  return b
}
