/**
 * The state file of a run (/run/overpass-lab/<run>.json): what `lab down`
 * must undo. It is rewritten after every namespace and process is added, so
 * a crash at any point leaves an accurate record.
 */
import fs from 'node:fs'
import { STATE_DIR, stateFile } from './naming.js'

export interface LabState {
  run: string
  scenarioFile: string
  createdAt: string
  dir: string
  namespaces: string[]
  /** Processes started in the namespaces: pid and what they are. */
  pids: { pid: number; what: string }[]
  /** Monotonic ms of traffic t=0, once set. */
  t0Ms?: number
}

export function saveState(s: LabState): void {
  fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 })
  const tmp = `${stateFile(s.run)}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2), { mode: 0o600 })
  fs.renameSync(tmp, stateFile(s.run))
}

export function loadState(run: string): LabState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(run), 'utf8')) as LabState
  } catch {
    return undefined
  }
}

export function listStates(): LabState[] {
  let files: string[]
  try {
    files = fs.readdirSync(STATE_DIR).filter((f) => /^op[0-9a-f]{4}\.json$/.test(f))
  } catch {
    return []
  }
  return files.map((f) => loadState(f.slice(0, -5))).filter((s): s is LabState => s !== undefined)
}
