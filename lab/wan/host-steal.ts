/**
 * CPU time the hypervisor took from this VM (the "steal" column of
 * /proc/stat, summed over CPUs). On shared cloud machines it comes in
 * bursts of milliseconds during which nothing in the guest runs, the WAN
 * emulator included, so the lab reports it next to the emulator's delay
 * error: a bad p99 with a lot of steal is the host, not the emulator.
 * Resolution is the kernel's USER_HZ tick (10 ms). 0 where /proc/stat is
 * missing or has no steal column (bare metal reports 0 anyway).
 */
import { readFileSync } from 'node:fs'

const USER_HZ_MS = 10
/** Field index of steal in a "cpu ..." line (after the label). */
const STEAL_FIELD = 8

export function hostStealMs(statText?: string): number {
  let text = statText
  if (text === undefined) {
    try {
      text = readFileSync('/proc/stat', 'utf8')
    } catch {
      return 0
    }
  }
  const total = text.split('\n').find((l) => l.startsWith('cpu '))
  const fields = total?.trim().split(/\s+/)
  const steal = fields && fields.length > STEAL_FIELD ? Number(fields[STEAL_FIELD]) : 0
  return Number.isFinite(steal) ? steal * USER_HZ_MS : 0
}
