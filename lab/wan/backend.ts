/**
 * Which WAN backend a lab run uses. `auto` (the default) takes tc netem
 * where the kernel has it, as the issue asks, and the user-space emulator
 * otherwise; `OVERPASS_LAB_WAN` or `--wan` force one. The probe adds and
 * removes a netem qdisc on the run's own `wan` namespace loopback, so it
 * touches nothing outside the run.
 */
import path from 'node:path'
import { run as sh } from '../topo/sh.js'

export type WanKind = 'emulator' | 'netem'
export type WanChoice = 'auto' | WanKind
export const WAN_CHOICES: readonly WanChoice[] = ['auto', 'emulator', 'netem']

export class WanBackendError extends Error {
  override readonly name = 'WanBackendError'
  constructor(readonly requested: string, readonly reason: string, readonly fix: string) {
    super(`WAN backend ${JSON.stringify(requested)}: ${reason} (fix: ${fix})`)
  }
}

export function parseWanChoice(value: string | undefined): WanChoice {
  if (value === undefined || value === '') return 'auto'
  if ((WAN_CHOICES as readonly string[]).includes(value)) return value as WanChoice
  throw new WanBackendError(value, 'unknown backend', `use one of ${WAN_CHOICES.join(', ')}`)
}

/** Whether netem qdiscs can be created in namespace `ns`; the reason if not. */
export function netemAvailable(ns: string): { ok: boolean; reason?: string } {
  try {
    sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'netem', 'delay', '1ms'])
  } catch (err) {
    return { ok: false, reason: (err as Error).message }
  }
  try {
    sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root'])
  } catch {
    // The namespace goes away with the run; a leftover qdisc on its lo harms nothing.
  }
  return { ok: true }
}

/** Resolves `auto` by probing namespace `ns`; a forced netem without kernel support is an error. */
export function resolveWan(choice: WanChoice, ns: string, probe = netemAvailable): WanKind {
  if (choice === 'emulator') return 'emulator'
  const netem = probe(ns)
  if (netem.ok) return 'netem'
  if (choice === 'netem') throw new WanBackendError('netem', `this kernel cannot create netem qdiscs: ${netem.reason}`, 'load sch_netem (modprobe sch_netem), or use --wan emulator')
  return 'emulator'
}

/** The backend's entry point under the compiled lab directory. */
export function wanMainJs(labDist: string, kind: WanKind): string {
  return kind === 'netem' ? path.join(labDist, 'wan', 'netem-main.js') : path.join(labDist, 'emulator', 'main.js')
}
