import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config/index.js'
import { toYaml, validRaw } from './fixtures.js'

function routed(fallback?: unknown) {
  const raw = validRaw()
  delete raw.services[0].paths
  if (fallback !== undefined) raw.services[0].fallback = fallback
  return raw
}

function issues(raw: Record<string, unknown>): string[] {
  try {
    parseConfig(toYaml(raw))
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.issues.map((i) => `${i.path}: ${i.message}`)
  }
}

describe('services[].fallback', () => {
  it('is absent by default and direct when asked for', () => {
    expect(parseConfig(toYaml(routed())).services[0].fallback).toBeUndefined()
    expect(parseConfig(toYaml(routed('none'))).services[0].fallback).toBeUndefined()
    expect(parseConfig(toYaml(routed('direct'))).services[0].fallback).toBe('direct')
  })

  it('refuses another value, with the choices', () => {
    expect(issues(routed('internet')).join('\n')).toMatch(/services\[0\]\.fallback/)
  })

  it('refuses direct on a service with pinned paths, which never lacks a path', () => {
    const raw = validRaw()
    raw.services[0].fallback = 'direct'
    expect(issues(raw)).toEqual([expect.stringMatching(/^services\[0\]\.fallback: is direct but the service has pinned paths/)])
  })
})
