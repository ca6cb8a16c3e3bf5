/**
 * `lab up`: builds a run's namespaces and starts the WAN backend in `wan`
 * (tc netem where the kernel has it, else the user-space emulator; see
 * wan/backend.ts), returning once it answers on its control socket. On any
 * failure it tears down what it built before rethrowing.
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
import { parseWanChoice, resolveWan, wanMainJs, type WanChoice, type WanKind } from '../wan/backend.js'
import { wanControlSocket } from '../wan/control.js'

/**
 * The compiled lab (dist/lab): processes in namespaces always run compiled
 * JS, also when this module itself runs from source (vitest).
 */
const HERE = path.dirname(fileURLToPath(import.meta.url))
export const LAB_DIST = HERE.split(path.sep).includes('dist') ? path.resolve(HERE, '..') : path.resolve(HERE, '..', '..', 'dist', 'lab')

export interface LabRun {
  state: LabState
  scenario: Scenario
  plan: AddressPlan
  ns(node: string): string
  /** Control socket of the WAN backend (wan/control.ts). */
  emulatorSocket: string
  wan: WanKind
}

export interface LabUpOptions {
  /** Default: OVERPASS_LAB_WAN, else auto. */
  wan?: WanChoice
}

export class LabUnavailableError extends Error {
  override readonly name = 'LabUnavailableError'
  constructor(readonly reason: string) {
    super(`${reason} (fix: run as root on Linux with iproute2, e.g. sudo npx overpass lab ...)`)
  }
}

/** `onRun` learns the run id as soon as it exists, so a caller's signal handler can tear down a half-built lab. */
export async function labUp(scenarioFile: string, onRun?: (run: string) => void, opts: LabUpOptions = {}): Promise<LabRun> {
  const wanChoice = opts.wan ?? parseWanChoice(process.env.OVERPASS_LAB_WAN)
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
  const lab: LabRun = { state, scenario, plan, ns: (n) => nsName(run, n), emulatorSocket: wanControlSocket(dir), wan: 'emulator' }
  try {
    buildTopology(state, plan)
    lab.wan = resolveWan(wanChoice, lab.ns('wan'))
    // netem needs no real-time priority: the kernel delays the packets, not a process.
    const argv = [process.execPath, wanMainJs(LAB_DIST, lab.wan), '--scenario', state.scenarioFile, '--run-dir', dir]
    const emu = spawnInNs(state, lab.ns('wan'), 'emulator', lab.wan === 'netem' ? argv : withPriority(EMULATOR_RT, argv))
    await waitFor(`the WAN backend (${lab.wan})`, async () => {
      if (emu.exitCode !== null) throw new Error(`WAN backend exited: ${readLog(state, 'emulator')}`)
      return (await controlRequest(lab.emulatorSocket, { cmd: 'stats' })) ?? undefined
    }, 15_000)
    return lab
  } catch (err) {
    await labDown(run)
    throw err
  }
}
