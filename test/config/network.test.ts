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
})
