import { describe, expect, it } from 'vitest'
import { cleanUpOnExit } from '../../src/io/exit-cleanup.js'

describe('cleanUpOnExit', () => {
  it('installs SIGINT and SIGTERM handlers and removes them again when released', () => {
    const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM'), exit: process.listenerCount('exit') }
    const onExit = (): void => {}
    const release = cleanUpOnExit(() => {}, onExit)
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1)
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1)
    expect(process.listenerCount('exit')).toBe(before.exit + 1)
    release()
    process.off('exit', onExit)
    expect(process.listenerCount('SIGINT')).toBe(before.int)
    expect(process.listenerCount('SIGTERM')).toBe(before.term)
  })
})
