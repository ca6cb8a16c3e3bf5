/** The `metrics:` section: absent means no listener; each mistake names its field and a fix. */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { issuesOf, toYaml, validRaw } from './fixtures.js'

describe('metrics config', () => {
  it('has no metrics listener unless the section is there', () => {
    expect(parseConfig(toYaml(validRaw())).metrics).toBeUndefined()
  })

  it('loads listen, with the status page off by default', () => {
    const raw = validRaw()
    raw.metrics = { listen: '127.0.0.1:9469' }
    expect(parseConfig(toYaml(raw)).metrics).toEqual({ listen: { host: '127.0.0.1', port: 9469 }, statusPage: false })
    raw.metrics = { listen: '[::1]:9469', status_page: true }
    expect(parseConfig(toYaml(raw)).metrics).toEqual({ listen: { host: '::1', port: 9469 }, statusPage: true })
  })

  it('names the field and the fix for a bad listen address, a non-boolean status_page and a typo', () => {
    const raw = validRaw()
    raw.metrics = { listen: 'localhost', status_page: 'yes', lisen: 1 }
    const issues = issuesOf(raw)
    const listen = issues.find((i) => i.path === 'metrics.listen')
    expect(listen?.fix).toContain('127.0.0.1:9469')
    expect(issues.find((i) => i.path === 'metrics.status_page')?.fix).toContain('true')
    expect(issues.some((i) => i.path.startsWith('metrics') && /lisen/.test(`${i.path} ${i.message}`))).toBe(true)
  })

  it('asks for a mapping when metrics is not one', () => {
    const raw = validRaw()
    raw.metrics = '127.0.0.1:9469'
    expect(issuesOf(raw).some((i) => i.path === 'metrics')).toBe(true)
  })
})
