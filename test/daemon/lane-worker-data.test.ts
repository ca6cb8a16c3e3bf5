import v8 from 'node:v8'
import { describe, expect, it } from 'vitest'
import { dataPlaneConfig } from '../../src/config/data-plane.js'
import { laneWorkerData } from '../../src/daemon/workers.js'
import { buildConfigs } from '../dataplane/helpers.js'

/** What postMessage / workerData copies to the thread: the structured-clone bytes. */
function cloned(value: unknown): Buffer {
  return v8.serialize(value)
}

describe('what a data-plane worker thread is started with', () => {
  const config = buildConfigs({ relays: ['lax', 'sea', 'dal'], services: [{ paths: [['lax', 'sea', 'dal']] }] }).get('lax')!
  config.relay.workers = 3
  const key = Buffer.from(config.relay.privateKey)

  it('would leak the static private key if the whole config were sent (the check sees it)', () => {
    expect(cloned({ config }).includes(key)).toBe(true)
  })

  it('does not contain the static private key, only the data plane config', () => {
    const data = laneWorkerData({ plane: dataPlaneConfig(config), cryptoBackend: 'auto' }, 1, 3)
    expect(cloned(data).includes(key)).toBe(false)
    expect(Object.keys(data).sort()).toEqual(['count', 'cryptoBackend', 'index', 'plane', 'statsIntervalMs'])
    expect(data.plane.self).toBe('lax')
    expect(data.plane.workers).toBe(3)
  })
})
