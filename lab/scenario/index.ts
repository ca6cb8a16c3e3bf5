/**
 * lab/scenario owns the scenario file: its schema, the checks that name the
 * field and the fix, and the normalised `Scenario` the lab runs.
 */
export * from './types.js'
export { loadScenario, parseScenario } from './load.js'
export { ScenarioError, type ScenarioIssue } from './errors.js'
export { parseLabDurationMs } from './values.js'
