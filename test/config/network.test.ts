import { describe, expect, it } from 'vitest'
import { checkNetwork, parseConfig } from '../../src/config/index.js'
import { seaRaw, toYaml, validRaw, type Raw } from './fixtures.js'

const load = (raw: Raw, sourcePath: string) => parseConfig(toYaml(raw), { sourcePath })

describe('checkNetwork', () => {
  it('finds nothing wrong with two agreeing relays', () => {
    expect(checkNetwork([load(validRaw(), 'lax.yaml'), load(seaRaw(), 'sea.yaml')])).toEqual({ errors: [], warnings: [] })
  })

  it('warns when a peer endpoint differs from that relay\'s listen address', () => {
    const lax = validRaw()
    lax.peers[0].endpoint = '127.0.0.1:7999'
    const { errors, warnings } = checkNetwork([load(lax, 'lax.yaml'), load(seaRaw(), 'sea.yaml')])
    expect(errors).toEqual([])
    expect(warnings).toEqual([expect.objectContaining({ sourcePath: 'lax.yaml', path: 'peers[0].endpoint', message: expect.stringMatching(/127\.0\.0\.1:7002/) })])
  })

  it('matches only the port when the relay listens on the wildcard', () => {
    const sea = seaRaw()
    sea.relay.listen = '0.0.0.0:7002'
    expect(checkNetwork([load(validRaw(), 'lax.yaml'), load(sea, 'sea.yaml')]).warnings).toEqual([])
  })

  it('rejects two files for the same relay id', () => {
    const { errors } = checkNetwork([load(validRaw(), 'a.yaml'), load(validRaw(), 'b.yaml')])
    expect(errors).toEqual([expect.objectContaining({ sourcePath: 'b.yaml', path: 'relay.id', message: expect.stringMatching(/also defined in a\.yaml/) })])
  })

  it('rejects an exit of an l3 service whose own file has no l3: section', () => {
    // sea.yaml alone is valid: it lacks the dc service block, so only the pair shows the problem.
    const lax = validRaw()
    lax.l3 = { tun: 'op3lax' }
    lax.services.push({ name: 'dc', mode: 'l3', prefixes: ['10.200.0.0/24'], exits: ['sea'] })
    const { errors } = checkNetwork([load(lax, 'lax.yaml'), load(seaRaw(), 'sea.yaml')])
    expect(errors).toEqual([
      expect.objectContaining({ sourcePath: 'lax.yaml', path: 'services[1].exits[0]', message: expect.stringMatching(/relay "sea" exits l3 service "dc" but sea\.yaml has no l3: section/), fix: expect.stringMatching(/add an l3: section/) }),
    ])
  })
})
