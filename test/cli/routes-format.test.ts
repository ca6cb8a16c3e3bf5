import { describe, expect, it } from 'vitest'
import { formatRoutes } from '../../src/cli/commands/map.js'

const base = { relay: 'lax', forward: [{ service: 'game', path: ['lax', 'sea', 'dal'], delayMs: 30, directDelayMs: 40, sinceMs: 0 }], reply: [] }

describe('overpass routes text', () => {
  it('lists the path to each exit of a multi-exit service, where sticky flows go', () => {
    const text = formatRoutes({ ...base, by_exit: { game: [{ exit: 'dal', path: ['lax', 'sea', 'dal'] }, { exit: 'bos', path: ['lax', 'bos'], backup: ['lax', 'sea', 'bos'] }] } })
    expect(text).toContain('paths per exit (flows keep their exit; those not on the best one ride these)')
    expect(text).toContain('  game         exit dal      lax > sea > dal')
    expect(text).toContain('  game         exit bos      lax > bos  backup lax > sea > bos')
  })

  it('says so when no exit of the service is usable', () => {
    expect(formatRoutes({ ...base, by_exit: { game: [] } })).toContain('  game         no usable exit')
  })

  it('has no per-exit block without multi-exit services', () => {
    expect(formatRoutes({ ...base, by_exit: {} })).not.toContain('paths per exit')
    expect(formatRoutes(base)).not.toContain('paths per exit')
  })
})
