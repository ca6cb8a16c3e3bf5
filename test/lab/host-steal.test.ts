import { describe, expect, it } from 'vitest'
import { hostStealMs } from '../../lab/wan/host-steal.js'

describe('host steal reading', () => {
  it('reads the steal column of the all-CPU line in ms', () => {
    const stat = 'cpu  1924156 9 220687 1904948 2874 0 27137 36949 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n'
    expect(hostStealMs(stat)).toBe(369_490)
  })

  it('reads 0 where the kernel has no steal column', () => {
    expect(hostStealMs('cpu  1 2 3 4 5 6 7\n')).toBe(0)
    expect(hostStealMs('')).toBe(0)
  })
})
