/**
 * Sockets (or anything with close()) a test opens, closed after each test
 * even when it failed half-way; one already closed by the test is skipped.
 */
import { afterEach } from 'vitest'

export function closedAfterEach(): { close(): void }[] {
  const open: { close(): void }[] = []
  afterEach(() => {
    for (const s of open.splice(0)) {
      try {
        s.close()
      } catch {
        // already closed
      }
    }
  })
  return open
}
