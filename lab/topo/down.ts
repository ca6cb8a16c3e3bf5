/**
 * Tears runs down: kills the processes a run started (from its state file,
 * and whatever `ip netns pids` finds in its namespaces), deletes its
 * namespaces, removes its state. Idempotent, and works without a state
 * file: namespaces named `op<4 hex>-*` are found by prefix.
 */
import fs from 'node:fs'
import { NS_PATTERN, runDir, stateFile } from './naming.js'
import { stopPids } from './procs.js'
import { listNamespaces, run as sh } from './sh.js'
import { listStates, loadState } from './state.js'

export interface DownReport {
  runs: string[]
  killed: number
  namespacesDeleted: number
}

/** Tears down `only` (a run id) or every lab run on this machine. */
export async function labDown(only?: string): Promise<DownReport> {
  const byRun = new Map<string, Set<string>>()
  const pids = new Set<number>()
  for (const s of only ? [loadState(only)].filter((x) => x !== undefined) : listStates()) {
    byRun.set(s.run, new Set(s.namespaces))
    for (const p of s.pids) if (ownedBy(p.pid, s.run)) pids.add(p.pid)
  }
  for (const ns of listNamespaces()) {
    const m = NS_PATTERN.exec(ns)
    if (!m || (only && m[1] !== only)) continue
    if (!byRun.has(m[1])) byRun.set(m[1], new Set())
    byRun.get(m[1])!.add(ns)
  }
  if (only && !byRun.has(only)) byRun.set(only, new Set())
  const present = new Set(listNamespaces())
  for (const set of byRun.values()) {
    for (const ns of set) {
      if (!present.has(ns)) continue
      for (const pid of sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean)) pids.add(Number(pid))
    }
  }
  await stopPids([...pids])
  let deleted = 0
  for (const [run, set] of byRun) {
    for (const ns of set) {
      if (!present.has(ns)) continue
      sh('ip', ['netns', 'del', ns])
      deleted++
    }
    fs.rmSync(stateFile(run), { force: true })
    fs.rmSync(runDir(run), { recursive: true, force: true })
  }
  return { runs: [...byRun.keys()], killed: pids.size, namespacesDeleted: deleted }
}

/**
 * A recorded pid is ours only if it still runs something of this run (its
 * command line names the run directory or it runs under `ip netns exec` of
 * one of its namespaces): pids are reused after a crash and reboot.
 */
function ownedBy(pid: number, run: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(run)
  } catch {
    return false
  }
}
