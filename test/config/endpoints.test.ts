import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { issueLines, toYaml, validRaw } from './fixtures.js'

describe('peers[].endpoints', () => {
  it('takes several addresses, the first as endpoint', () => {
    const raw = validRaw()
    delete raw.peers[0].endpoint
    raw.peers[0].endpoints = ['127.0.0.1:7002', '[::1]:7002']
    const sea = parseConfig(toYaml(raw)).peers[0]
    expect(sea.endpoint).toEqual({ host: '127.0.0.1', port: 7002 })
    expect(sea.endpoints).toEqual([{ host: '127.0.0.1', port: 7002 }, { host: '::1', port: 7002 }])
  })

  it('keeps endpoint: working, without endpoints', () => {
    expect(parseConfig(toYaml(validRaw())).peers[0].endpoints).toBeUndefined()
  })

  it('takes a one-element list as a plain endpoint', () => {
    const raw = validRaw()
    delete raw.peers[0].endpoint
    raw.peers[0].endpoints = ['127.0.0.1:7002']
    const sea = parseConfig(toYaml(raw)).peers[0]
    expect(sea.endpoint).toEqual({ host: '127.0.0.1', port: 7002 })
    expect(sea.endpoints).toBeUndefined()
  })

  it('refuses both fields, neither, an empty list and a bad address in the list', () => {
    const both = validRaw()
    both.peers[0].endpoints = ['127.0.0.1:7002']
    expect(issueLines(both)).toEqual(['peers[0].endpoints: endpoint and endpoints are both set'])
    const neither = validRaw()
    delete neither.peers[0].endpoint
    expect(issueLines(neither)).toEqual(['peers[0].endpoint: no address: set endpoint (or endpoints)'])
    const empty = validRaw()
    delete empty.peers[0].endpoint
    empty.peers[0].endpoints = []
    expect(issueLines(empty).join('\n')).toMatch(/peers\[0\]\.endpoints/)
    const bad = validRaw()
    delete bad.peers[0].endpoint
    bad.peers[0].endpoints = ['127.0.0.1:7002', 'nowhere']
    expect(issueLines(bad).join('\n')).toMatch(/peers\[0\]\.endpoints\[1\]/)
  })

  it('takes DNS names for peers, kept as written (resolved when the relay starts), but not for listen addresses', () => {
    const raw = validRaw()
    delete raw.peers[0].endpoint
    raw.peers[0].endpoints = ['Sea.Example.NET:7002', '127.0.0.1:7002']
    raw.peers[1].endpoint = 'dal-1.example.net.:7003'
    const c = parseConfig(toYaml(raw))
    expect(c.peers[0].endpoints![0]).toEqual({ host: 'sea.example.net', port: 7002 })
    expect(c.peers[1].endpoint).toEqual({ host: 'dal-1.example.net', port: 7003 })
    const listen = validRaw()
    listen.relay.listen = 'lax.example.net:7001'
    expect(issueLines(listen).join('\n')).toContain('host names are not resolved')
  })

  for (const bad of ['-sea.example.net:7002', 'sea..example.net:7002', 'sea_x.example.net:7002', 'sea.example.net:0', '1.2.3:7002', 'sea.example.net']) {
    it(`refuses the peer endpoint ${JSON.stringify(bad)}`, () => {
      const raw = validRaw()
      raw.peers[0].endpoint = bad
      expect(issueLines(raw).join('\n')).toMatch(/peers\[0\]\.endpoint/)
    })
  }
})
