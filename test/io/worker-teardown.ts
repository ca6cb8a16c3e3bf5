/**
 * The teardown test of a native addon: a worker thread opens its resources
 * and is terminated without closing them, so only the addon's environment
 * cleanup hook can release them.
 */
import { Worker } from 'node:worker_threads'
import { expect } from 'vitest'

/**
 * Runs `source` (CommonJS, evaluated; it posts 'open' once it holds the
 * resources) in a worker, then terminates it. Fails the test unless the
 * worker opened and ended as terminated (exit code 1), not by a crash.
 */
export async function openInWorkerThenTerminate(source: string): Promise<void> {
  const w = new Worker(source, { eval: true })
  const opened = await new Promise((resolve) => {
    w.once('message', resolve)
    w.once('error', resolve)
  })
  expect(opened).toBe('open')
  expect(await w.terminate()).toBe(1)
}
