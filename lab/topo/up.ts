/**
 * `lab up`: builds a run's namespaces and starts the WAN emulator in `wan`,
 * returning once the emulator answers on its control socket. On any failure
 * it tears down what it built before rethrowing.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { controlRequest } from '../../src/daemon/control-server.js'
import { loadScenario, type Scenario } from '../scenario/index.js'
import { planAddresses, type AddressPlan } from './addressing.js'
import { buildTopology } from './build.js'
import { labDown } from './down.js'
import { newRunId, nsName, runDir } from './naming.js'
import { readLog, spawnInNs } from './procs.js'
import { labAvailable, waitFor } from './sh.js'
import { saveState, type LabState } from './state.js'
import { EMULATOR_RT, withPriority } from '../run/priority.js'

/**
 * The compiled lab (dist/lab): processes in namespaces always run compiled
 * JS, also when this module itself runs from source (vitest).
 */
const HERE = path.dirname(fileURLToPath(import.meta.url))
export const LAB_DIST = HERE.split(path.sep).includes('dist') ? path.resolve(HERE, '..') : path.resolve(HERE, '..', '..', 'dist', 'lab')
export const EMULATOR_JS = path.join(LAB_DIST, 'emulator', 'main.js')

export interface LabRun {
  state: LabState
  scenario: Scenario
  plan: AddressPlan
  ns(node: string): string
  emulatorSocket: string
}

export class LabUnavailableError extends Error {
  override readonly name = 'LabUnavailableError'
  constructor(readonly reason: string) {
    super(`${reason} (fix: run as root on Linux with iproute2, e.g. sudo npx overpass lab ...)`)
  }
}

/** `onRun` learns the run id as soon as it exists, so a caller's signal handler can tear down a half-built lab. */
export async function labUp(scenarioFile: string, onRun?: (run: string) => void): Promise<LabRun> {
  const avail = labAvailable()
  if (!avail.ok) throw new LabUnavailableError(avail.reason!)
  const scenario = loadScenario(scenarioFile)
  const plan = planAddresses(scenario)
  const run = newRunId()
  onRun?.(run)
  const dir = runDir(run)
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const state: LabState = { run, scenarioFile: path.resolve(scenarioFile), createdAt: new Date().toISOString(), dir, namespaces: [], pids: [] }
  saveState(state)
  const lab: LabRun = { state, scenario, plan, ns: (n) => nsName(run, n), emulatorSocket: path.join(dir, 'emulator.sock') }
  try {
    buildTopology(state, plan)
    const emu = spawnInNs(state, lab.ns('wan'), 'emulator', withPriority(EMULATOR_RT, [process.execPath, EMULATOR_JS, '--scenario', state.scenarioFile, '--run-dir', dir]))
    await waitFor('the WAN emulator', async () => {
      if (emu.exitCode !== null) throw new Error(`emulator exited: ${readLog(state, 'emulator')}`)
      return (await controlRequest(lab.emulatorSocket, { cmd: 'stats' })) ?? undefined
    }, 15_000)
    return lab
  } catch (err) {
    await labDown(run)
    throw err
  }
}
