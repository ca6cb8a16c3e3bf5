import { describe, expect, it } from 'vitest'
import { openFileLimit } from '../../src/io/fd-limit.js'

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
`

describe('openFileLimit', () => {
  it('reads the soft limit on open files from /proc/self/limits text', () => {
    expect(openFileLimit(LIMITS)).toBe(1024)
    expect(openFileLimit(LIMITS.replace('1024 ', 'unlimited'))).toBeUndefined()
    expect(openFileLimit('nothing here')).toBeUndefined()
  })

  it('reads this process’s limit, or says it cannot', () => {
    const n = openFileLimit()
    expect(n === undefined || n > 0).toBe(true)
  })
})
