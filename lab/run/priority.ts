/**
 * Scheduling priority of lab processes. On a shared 2-core machine the
 * emulator's release timers are late by whole milliseconds whenever other
 * work is runnable (measured: delay error p99 4.5 ms at nice 0 under load,
 * 0.2 ms under SCHED_RR). So the emulator runs SCHED_RR 20 and the relays
 * and measurement agents SCHED_RR 10 when `chrt` works; the kernel's RT
 * throttling (95% by default) keeps the machine responsive. `OVERPASS_LAB_RT=0`
 * turns this off.
 */
import { spawnSync } from 'node:child_process'

let usable: boolean | undefined

export function rtUsable(): boolean {
  if (usable === undefined) {
    usable = process.env.OVERPASS_LAB_RT !== '0' && spawnSync('chrt', ['-r', '1', 'true']).status === 0
  }
  return usable
}

/** argv prefix that runs a command at the given SCHED_RR priority (or unchanged). */
export function withPriority(rtPriority: number, argv: string[]): string[] {
  return rtUsable() ? ['chrt', '-r', String(rtPriority), ...argv] : argv
}

export const EMULATOR_RT = 20
export const RELAY_RT = 10
export const AGENT_RT = 10
