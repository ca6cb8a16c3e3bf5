import dgram from 'node:dgram'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { RelayConfig } from '../../src/config/types.js'
import { startDaemon } from '../../src/daemon/index.js'
import { WorkersNeedNativeUdpError } from '../../src/daemon/data-plane-sockets.js'
import { nativeUdpAvailable } from '../../src/io/native-udp.js'
import { silentLogger } from '../../src/io/log.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { freePorts, waitFor } from '../integration/harness.js'
import { itIf, needsAvailable } from '../support/requirements.js'

async function relayWithWorkers(workers: number): Promise<{ config: RelayConfig; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-workers-'))
  const [base] = await freePorts(1)
  const config = buildConfigs({ relays: ['lax', 'sea', 'dal'], basePort: base, services: [{ paths: [], ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: 0 } }] }] }).get('lax')!
  config.relay.workers = workers
  config.relay.controlSocket = path.join(dir, 'lax.sock')
  return { config, dir }
}

describe('a relay with several workers', () => {
  it('refuses to start on node:dgram sockets, saying how to fix it', async () => {
    const { config, dir } = await relayWithWorkers(2)
    const saved = process.env.OVERPASS_UDP
    process.env.OVERPASS_UDP = 'dgram'
    try {
      const err = await startDaemon(config, { log: silentLogger }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WorkersNeedNativeUdpError)
      expect((err as Error).message).toMatch(/relay\.workers is 2.*Fix: .*relay\.workers: 1/)
    } finally {
      if (saved === undefined) delete process.env.OVERPASS_UDP
      else process.env.OVERPASS_UDP = saved
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  itIf(needsAvailable('the native UDP addon', nativeUdpAvailable()), 'starts its worker threads, reports them in status, and stops them all', async () => {
    const { config, dir } = await relayWithWorkers(3)
    const d = await startDaemon(config, { log: silentLogger, noControlSocket: true })
    const port = config.relay.listen.port
    try {
      expect(d.relay.laneCount).toBe(3)
      // Workers 1 and 2 report their stats once a second.
      const listed = (): number[] => ((d.status() as { workers?: { worker: number }[] }).workers ?? []).map((w) => w.worker)
      expect(await waitFor(() => listed().length === 3, 5000)).toBe(true)
      expect(listed()).toEqual([0, 1, 2])
      expect((d.status() as { worker_count?: number }).worker_count).toBe(3)
    } finally {
      d.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
    // Every member of the port group closed: the port can be bound alone again.
    const free = async (): Promise<boolean> => {
      const s = dgram.createSocket('udp4')
      const ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false))
        s.bind(port, '127.0.0.1', () => resolve(true))
      })
      s.close()
      return ok
    }
    let released = false
    for (let i = 0; i < 50 && !released; i++) {
      released = await free()
      if (!released) await new Promise((r) => setTimeout(r, 100))
    }
    expect(released).toBe(true)
  })
})
