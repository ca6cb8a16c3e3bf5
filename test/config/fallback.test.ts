import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { issueLines, toYaml, validRaw } from './fixtures.js'

function routed(fallback?: unknown) {
  const raw = validRaw()
  delete raw.services[0].paths
  if (fallback !== undefined) raw.services[0].fallback = fallback
  return raw
}

describe('services[].fallback', () => {
  it('is absent by default and direct when asked for', () => {
    expect(parseConfig(toYaml(routed())).services[0].fallback).toBeUndefined()
    expect(parseConfig(toYaml(routed('none'))).services[0].fallback).toBeUndefined()
    expect(parseConfig(toYaml(routed('direct'))).services[0].fallback).toBe('direct')
  })

  it('refuses another value, with the choices', () => {
    expect(issueLines(routed('internet')).join('\n')).toMatch(/services\[0\]\.fallback/)
  })

  it('refuses direct on a service with pinned paths, which never lacks a path', () => {
    const raw = validRaw()
    raw.services[0].fallback = 'direct'
    expect(issueLines(raw)).toEqual([expect.stringMatching(/^services\[0\]\.fallback: is direct but the service has pinned paths/)])
  })
})
