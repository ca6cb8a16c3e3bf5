import { describe, expect, it } from 'vitest'
import { DEFAULT_HOLD_S, rolloutPolicy } from '../../src/config/rollout-policy.js'

const relays = ['lax', 'sea', 'dal']

describe('rollout: section', () => {
  it('is optional: without it every relay applies at once', () => {
    expect(rolloutPolicy({}, relays)).toEqual({ policy: { canaries: [], holdMs: 0 }, problems: [] })
  })

  it('reads canaries and hold_s, with a default hold', () => {
    expect(rolloutPolicy({ rollout: { canaries: ['sea', 'sea'], hold_s: 90 } }, relays).policy).toEqual({ canaries: ['sea'], holdMs: 90_000 })
    expect(rolloutPolicy({ rollout: { canaries: ['sea'] } }, relays).policy.holdMs).toBe(DEFAULT_HOLD_S * 1000)
  })

  it.each([
    [{ canaries: ['nyc'] }, 'rollout.canaries: "nyc" is not a relay of this file'],
    [{ canaries: 'sea' }, 'rollout.canaries: must be a list of relay ids'],
    [{ canaries: ['sea'], hold_s: -1 }, 'rollout.hold_s: must be a number of seconds from 0 to 604800'],
    [{ canary: ['sea'] }, 'rollout.canary: unknown field (rollout has canaries and hold_s)'],
    [['sea'], 'rollout: must be a mapping with canaries and hold_s'],
  ])('refuses %j', (rollout, problem) => {
    expect(rolloutPolicy({ rollout }, relays).problems.map((p) => `${p.path}: ${p.message}`)).toEqual([problem])
  })
})
