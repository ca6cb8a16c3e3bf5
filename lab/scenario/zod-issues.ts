/**
 * zod issues → ScenarioIssues with plain messages, paths and fixes. Paths,
 * their patterns and the issue format are config's (src/config/errors.ts,
 * fixes.ts); the messages and fixes are the scenario's own, since they name
 * scenario fields and units.
 */
import type { z } from 'zod'
import { formatPath, type PathSegment } from '../../src/config/errors.js'
import { fieldPattern } from '../../src/config/fixes.js'
import type { ScenarioIssue } from './errors.js'
import { KNOWN } from './schema.js'

const FIXES: [RegExp, string][] = [
  [/(delay|jitter|at|period|for|warmup|start|duration|origin_probe_interval)$/, 'write a duration with a unit, e.g. 12ms or 2.5s'],
  [/loss$/, 'write a percentage, e.g. 0.5%'],
  [/factor$/, 'write a plain number, e.g. 2 (doubles the delay in force) or 0.5'],
  [/burst$/, 'write the mean burst length in packets, e.g. 4'],
  [/profile$/, 'use game or voip'],
  [/prefix$/, 'write an IPv4 prefix with 8-30 bits, e.g. 10.101.0.0/24'],
  [/action$/, 'use degrade, cut, restore, flap (links), kill, start (a PoP\'s relay), or cut-origin, restore-origin (an exit\'s origin leg)'],
  [/between$/, 'list exactly two PoPs, e.g. between: [lax, sea]'],
  [/(pop|wan_pop|client|origin|exit|from|to|name)$|\]$/, 'use a short lowercase name like lax or c-lax'],
]

function fixFor(path: string): string {
  for (const [re, fix] of FIXES) if (re.test(path)) return fix
  return 'see docs/lab.md for the scenario format'
}

export function fromZod(issues: readonly z.core.$ZodIssue[]): ScenarioIssue[] {
  const out: ScenarioIssue[] = []
  for (const issue of issues) {
    const segs = issue.path as PathSegment[]
    const path = formatPath(segs)
    if (issue.code === 'unrecognized_keys') {
      const allowed = KNOWN[fieldPattern(path)]
      for (const key of issue.keys) {
        out.push({ path: formatPath([...segs, key]), message: `unknown field "${key}"`, fix: allowed ? `remove it; fields allowed here: ${allowed.join(', ')}` : 'remove it' })
      }
      continue
    }
    let message = issue.message
    if (issue.code === 'invalid_type') message = issue.input === undefined ? 'is required' : `must be ${issue.expected}`
    else if (issue.code === 'invalid_value') message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    else if (issue.code === 'too_small' && issue.origin === 'array') message = `must have at least ${issue.minimum} entries`
    out.push({ path, message, fix: fixFor(path) })
  }
  return out
}
