/**
 * `overpass lab up|run SCENARIO` takes a file path or the name of a shipped
 * scenario (lab/scenarios/<name>.yaml, e.g. `us-sites`), so an operator can
 * run the examples from an installed package without knowing where it lives.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
/** lab/scenarios from lab/ (tests) or dist/lab (compiled, installed: the package ships lab/scenarios). */
export const SHIPPED_SCENARIOS_DIR = [path.join(HERE, 'scenarios'), path.resolve(HERE, '../../lab/scenarios')].find((d) => fs.existsSync(d)) ?? path.join(HERE, 'scenarios')

export class ScenarioNotFoundError extends Error {
  override readonly name = 'ScenarioNotFoundError'
  constructor(readonly scenario: string, readonly shipped: string[]) {
    super(`no scenario file ${scenario} and no shipped scenario of that name (fix: give a path, or one of: ${shipped.join(', ')})`)
  }
}

export function shippedScenarioNames(dir = SHIPPED_SCENARIOS_DIR): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort()
  } catch {
    return []
  }
}

/** An existing path as given; else a shipped scenario's file by name; else ScenarioNotFoundError. */
export function resolveScenario(arg: string, dir = SHIPPED_SCENARIOS_DIR): string {
  if (fs.existsSync(arg)) return arg
  const name = arg.endsWith('.yaml') ? arg.slice(0, -'.yaml'.length) : arg
  if (!name.includes('/') && shippedScenarioNames(dir).includes(name)) return path.join(dir, `${name}.yaml`)
  throw new ScenarioNotFoundError(arg, shippedScenarioNames(dir))
}
