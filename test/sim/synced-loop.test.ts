import { MessageChannel } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import type { Partition } from '../../src/sim/partition.js'
import { SIGNAL_BYTES, SimLoopStalledError, SyncedLoop } from '../../src/sim/synced-loop.js'

/** A partition with no events: only how far the loop runs it matters here. */
function emptyPartition(ranTo: number[]): Partition {
  return { runUntil: (t: number) => void ranTo.push(t), outboxLength: 0, takeOutbox: () => undefined, deliver: () => {} } as unknown as Partition
}

describe('two loops in step', () => {
  it('runs at most one lookahead ahead of a silent other loop, then gives up with a clear error instead of hanging', () => {
    const ranTo: number[] = []
    const { port1, port2 } = new MessageChannel()
    const loop = new SyncedLoop(emptyPartition(ranTo), 0, port1, new SharedArrayBuffer(SIGNAL_BYTES), 10, () => true, 200)
    expect(() => loop.runTo(1000)).toThrow(SimLoopStalledError)
    // The other loop never left 0 ms, so this one stopped at the 10 ms lookahead.
    expect(Math.max(...ranTo)).toBe(10)
    port1.close()
    port2.close()
  })
})
