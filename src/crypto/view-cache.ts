/**
 * libsodium takes exact-length arrays, so each packet needs a view of the
 * right length into a preallocated buffer. Views are created once per length
 * and reused, so steady-state traffic allocates no views for our own buffers.
 */
export class ViewCache {
  private readonly views: (Buffer | undefined)[] = []

  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
  ) {}

  /** buf[start, start + length). */
  get(length: number): Buffer {
    let v = this.views[length]
    if (v === undefined) {
      v = this.buf.subarray(this.start, this.start + length)
      this.views[length] = v
    }
    return v
  }
}
