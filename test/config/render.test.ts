import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { renderRelayYaml } from '../../src/config/render.js'
import { laxRender } from './fixtures.js'

describe('renderRelayYaml', () => {
  it('writes a file the loader accepts unchanged', () => {
    const text = renderRelayYaml(
      laxRender({
        services: [{ name: 'game', ingress: [{ relay: 'lax', listen: '127.0.0.1:27015' }], origin: '127.0.0.1:9000', exits: ['dal'], paths: [['lax', 'sea', 'dal']] }],
        tuning: { rekey_after_packets: 200 },
      }),
      'generated for a test',
    )
    expect(text.startsWith('# generated for a test\n')).toBe(true)
    const cfg = parseConfig(text)
    expect(cfg.relay.controlSocket).toBe('/tmp/overpass-test-lax.sock')
    expect(cfg.services[0]).toMatchObject({ delivery: 'proxy', mode: 'l4', replyPaths: [['dal', 'sea', 'lax']] })
    expect(cfg.tuning.rekeyAfterPackets).toBe(200)
  })
})
