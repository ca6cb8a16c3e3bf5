import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { SHIPPED_SCENARIOS_DIR, resolveScenario, shippedScenarioNames } from '../../lab/scenario-name.js'

describe('lab scenario argument', () => {
  it('finds the shipped scenarios by name, with or without .yaml', () => {
    expect(shippedScenarioNames()).toContain('us-sites')
    expect(resolveScenario('us-sites')).toBe(path.join(SHIPPED_SCENARIOS_DIR, 'us-sites.yaml'))
    expect(resolveScenario('us-sites.yaml')).toBe(path.join(SHIPPED_SCENARIOS_DIR, 'us-sites.yaml'))
  })

  it('takes an existing path as given, even when a shipped scenario has its name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-scn-'))
    try {
      const own = path.join(dir, 'us-sites.yaml')
      fs.writeFileSync(own, 'x: 1\n')
      expect(resolveScenario(own)).toBe(own)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names the shipped scenarios when the argument is neither', () => {
    expect(() => resolveScenario('mars-sites')).toThrow(/fix: give a path, or one of: .*us-sites/)
    expect(() => resolveScenario('nope/us-sites')).toThrow(expect.objectContaining({ name: 'ScenarioNotFoundError' }))
  })
})
