/** Scenario problems, all reported at once, each with a field path and a fix. */
import { formatIssue, type ConfigIssue } from '../../src/config/errors.js'

export type ScenarioIssue = ConfigIssue

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError'
  constructor(readonly issues: ScenarioIssue[], readonly sourcePath?: string) {
    const head = `${sourcePath ?? 'scenario'}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`
    super([head, ...issues.map((i) => '  ' + formatIssue(i))].join('\n'))
  }
}
